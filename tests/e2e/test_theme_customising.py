"""The README's "Customising the theme" recipe, run exactly as written, and the layering rules behind it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, run_build, tree_bytes

PROJECT_FILES = ("build.py", "digest", "templates", "static", "content", "site.yaml")


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def copy_project(tmp_path: Path) -> Path:
    """A copy of the project folder, as a user who cloned it has."""
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    return project


def test_the_readme_recipe_overrides_one_partial_and_adds_a_stylesheet(tmp_path: Path):
    project = copy_project(tmp_path)
    blocks = re.findall(r"```sh\n(.*?)```", readme_section("Customising the theme"), re.S)
    assert blocks, "the README section has no shell recipe"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for block in blocks:
        result = subprocess.run(["bash", "-euc", block], cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr

    site = project / "_site"
    home = (site / "index.html").read_text(encoding="utf-8")
    article = next(site.glob("20*/*/*/*/index.html")).read_text(encoding="utf-8")
    assert 'class="card__title"' in home and "card__excerpt" not in home  # the user's card, everywhere
    assert 'class="story__excerpt"' in article  # the default article template, untouched
    for page in (home, article):
        assert re.search(r'href="/static/css/site\.\w{8}\.css">\s*<link rel="stylesheet" href="/static/css/custom\.\w{8}\.css">', page)
    [custom] = (site / "static/css").glob("custom.*.css")
    assert "--accent: #0b5394" in custom.read_text(encoding="utf-8")
    [default] = (site / "static/css").glob("site.*.css")
    assert default.read_bytes() == (ROOT / "static/css/site.css").read_bytes()
    assert (project / "templates/partials/card.html").read_bytes() == (ROOT / "templates/partials/card.html").read_bytes()


def test_a_user_asset_replaces_the_default_of_the_same_name(tmp_path: Path):
    project = copy_project(tmp_path)
    mine = project / "mine" / "css"
    mine.mkdir(parents=True)
    (mine / "site.css").write_text("body { color: green; }\n")
    result = run_build("build", "--static", "mine", cwd=project)
    assert result.returncode == 0, result.stderr
    built = {k: v for k, v in tree_bytes(project / "_site" / "static").items() if k.startswith("css/")}
    assert list(built.values()) == [b"body { color: green; }\n"] and re.fullmatch(r"css/site\.\w{8}\.css", *built)


def test_missing_theme_folders_and_stylesheets_are_usage_errors(tmp_path: Path):
    project = copy_project(tmp_path)
    for args in (["--templates", "nowhere"], ["--static", "nowhere"]):
        result = run_build("build", *args, cwd=project)
        assert result.returncode == 2 and "folder not found: nowhere" in result.stderr
    (project / "site.yaml").write_text("stylesheets: [css/missing.css]\n")
    result = run_build("build", cwd=project)
    assert result.returncode == 2 and "css/missing.css" in result.stderr
    for bad in ("../x.css", "/etc/x.css", "https://e.com/x.css", "css/x.js"):
        (project / "site.yaml").write_text(f"stylesheets: [{bad!r}]\n")
        result = run_build("build", cwd=project)
        assert result.returncode == 2 and "stylesheets must be" in result.stderr, bad
    assert not (project / "_site").exists()
