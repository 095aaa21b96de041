"""Fingerprinted assets: hashed names, rewritten CSS references, templates that link them."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from digest.assets import AssetError, load_assets
from tests.helpers import ROOT, run_build, tree_bytes, write_article

CSS = """@import url("parts/base.css");
.logo { background: url('../img/logo.svg#mark') no-repeat; }
.icon { background: url(../img/icon.png?v=2); }
.inline { background: url(data:image/png;base64,AAAA); }
.remote { background: url("https://cdn.example/x.png"); }
.rooted { background: url(/static/img/logo.svg); }
.missing { background: url(../img/nope.png); }
"""


def make_static(folder: Path) -> Path:
    static = folder / "static"
    (static / "css" / "parts").mkdir(parents=True)
    (static / "img").mkdir()
    (static / "css" / "site.css").write_text(CSS)
    (static / "css" / "parts" / "base.css").write_text('body { background: url("../../img/icon.png"); }\n')
    (static / "img" / "logo.svg").write_text("<svg/>")
    (static / "img" / "icon.png").write_bytes(b"\x89PNG fake")
    (static / ".hidden").write_text("secret")
    return static


def test_every_file_gets_a_content_hash_and_css_points_at_the_hashed_names(tmp_path: Path):
    assets = load_assets(make_static(tmp_path))
    files = dict(assets.files)
    assert set(assets.names) == {"css/site.css", "css/parts/base.css", "img/logo.svg", "img/icon.png"}
    for source, name in assets.names.items():
        stem, ext = source.rsplit(".", 1)
        assert re.fullmatch(re.escape(stem) + r"\.[0-9a-f]{8}\." + ext, name)
        data = files[f"static/{name}"]
        assert name.split(".")[-2] == hashlib.sha256(data).hexdigest()[:8]
    assert not any("hidden" in path for path in files)
    css = files[f"static/{assets.names['css/site.css']}"].decode()
    logo, icon, base = (assets.names[k] for k in ("img/logo.svg", "img/icon.png", "css/parts/base.css"))
    assert f"url('../{logo}#mark')" in css
    assert f"url(../{icon}?v=2)" in css
    assert f'@import url("{base.removeprefix("css/")}")' in css
    for untouched in ("url(data:image/png;base64,AAAA)", 'url("https://cdn.example/x.png")',
                      "url(/static/img/logo.svg)", "url(../img/nope.png)"):
        assert untouched in css
    assert f'url("../../{icon}")' in files[f"static/{base}"].decode()


def test_an_import_cycle_terminates(tmp_path: Path):
    (tmp_path / "a.css").write_text('@import url("b.css");')
    (tmp_path / "b.css").write_text('@import url("a.css");')
    assets = load_assets(tmp_path)
    assert sorted(assets.names) == ["a.css", "b.css"] and len(assets.files) == 2


def test_changing_an_image_renames_the_css_that_uses_it(tmp_path: Path):
    static = make_static(tmp_path)
    before = load_assets(static).names
    (static / "img" / "icon.png").write_bytes(b"\x89PNG changed")
    after = load_assets(static).names
    assert before["img/icon.png"] != after["img/icon.png"]
    assert before["css/site.css"] != after["css/site.css"]
    assert before["img/logo.svg"] == after["img/logo.svg"]


def test_an_unknown_asset_is_an_error():
    with pytest.raises(AssetError, match="nope.css"):
        load_assets(ROOT / "static").published_name("css/nope.css")


def test_pages_link_the_fingerprinted_stylesheet_and_only_hashed_files_are_published(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "templates", project / "templates")
    make_static(project)
    (project / "static" / "css" / "site.css").write_text((ROOT / "static/css/site.css").read_text() + CSS)
    write_article(project / "content", "a.md")
    assert run_build("build", "--base-url", "https://user.github.io/digest/", cwd=project).returncode == 0
    files = tree_bytes(project / "_site")
    static = sorted(path for path in files if path.startswith("static/"))
    defaults = [p for p in (ROOT / "static").rglob("*") if p.is_file() and not (project / "static" / p.relative_to(ROOT / "static")).exists()]
    assert all(re.search(r"\.[0-9a-f]{8}\.\w+$", path) for path in static) and len(static) == 4 + len(defaults)
    css = re.search(r'<link rel="stylesheet" href="/digest/(static/css/site\.[0-9a-f]{8}\.css)">', files["index.html"].decode())
    assert css and css.group(1) in files


def test_a_template_asking_for_a_missing_asset_fails_the_build_cleanly(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "templates", project / "templates")
    (project / "templates" / "404.html").write_text('<link rel="stylesheet" href="{{ asset(\'css/nope.css\') }}">')
    write_article(project / "content", "a.md")
    result = run_build("build", cwd=project)
    assert result.returncode == 2
    assert "css/nope.css" in result.stderr and "Traceback" not in result.stderr
