"""site.yaml's provider overrides and min_quality, built with `python build.py build` as a user runs it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import BuiltSite, providers_project
from tests.helpers import run_build


def read(site: BuiltSite, rel: str) -> str:
    return (site.output / rel).read_text(encoding="utf-8")


def test_logo_and_hex_colours_show_on_every_badge(theme_sites):
    site = theme_sites["providers"]
    home, sources = read(site, "index.html"), read(site, "providers/index.html")
    nypost = read(site, "providers/nypost-com/index.html")
    logo = re.search(r'<img class="badge__logo" src="/static/(logos/nypost\.[0-9a-f]{8}\.svg)" alt="" width="26" height="26">'
                     r'<span class="badge__name">The New York Post</span>', home)
    assert logo, "the logo replaces the monogram in the badge, fingerprinted like every asset"
    assert (site.output / "static" / logo.group(1)).is_file()
    assert f'<h1><img class="badge__logo" src="/static/{logo.group(1)}" alt=""' in nypost
    assert f'src="/static/{logo.group(1)}"' in sources and "New York Post</span>" in sources
    assert 'badge__mark--cf6d32d' in home and 'placeholder--cf6d32d' in home  # City A.M.'s "#F6D32D"
    assert 'badge__mark--c1a5fb4' in sources  # The Star's "#1a5fb4" (its only story is hidden: no card)
    css_links = re.findall(r'<link rel="stylesheet" href="/static/(css/[\w.-]+)">', home)
    assert [re.sub(r"\.[0-9a-f]{8}\.css$", ".css", link) for link in css_links] == ["css/site.css", "css/provider-colours.css"]
    colours = (site.output / "static" / css_links[1]).read_text(encoding="utf-8")
    assert ".badge__mark--cf6d32d, .placeholder--cf6d32d { --badge: #f6d32d; --badge-text: #000000; }" in colours
    assert ".badge__mark--c1a5fb4, .placeholder--c1a5fb4 { --badge: #1a5fb4; --badge-text: #ffffff; }" in colours
    for page in site.output.rglob("*.html"):  # the Content-Security-Policy (style-src 'self') allows no inline style
        assert not re.search(r"<[^>]+\sstyle=", page.read_text(encoding="utf-8")), page


def test_day_archives_honour_min_quality(theme_sites):
    """min_quality: 50 hides The Star (39) and the Sample Wire story (45) from lists; their pages stay."""
    site = theme_sites["providers"]
    aug17 = read(site, "2020/08/17/index.html")
    assert "<p>1 story, newest first.</p>" in aug17 and aug17.count('<article class="card') == 1
    assert "De Blasio calls for" in aug17 and "NYC Mayor de Blasio" not in aug17
    assert "<p>0 stories, newest first.</p>" in read(site, "2020/08/18/index.html")  # The Star's day, its date links there
    assert (site.output / "2020/08/18/convenience-store-boosts-security-with-facial-recognition-technology/index.html").is_file()
    month = read(site, "2020/08/index.html")
    assert re.search(r'17 August 2020</a> <span class="archive-list__count">1 story</span>', month)
    assert re.search(r'18 August 2020</a> <span class="archive-list__count">0 stories</span>', month)
    assert "<p>2 stories.</p>" in month and "<p>2 stories.</p>" in read(site, "2020/index.html")
    assert re.search(r'href="/providers/thestar-com-my/".*?0 stories</span>', read(site, "providers/index.html"), re.S)


@pytest.mark.parametrize("edit, message", [
    (lambda p: (p / "static/logos/nypost.svg").unlink(),
     "site.yaml: providers.nypost.com.logo: no such file under static/: logos/nypost.svg"),
    (lambda p: (p / "site.yaml").write_text("providers:\n  nypost.com: {logo: ../secret.svg}\n"),
     "providers.nypost.com.logo must stay inside static/"),
    (lambda p: (p / "site.yaml").write_text("providers:\n  nypost.com: {logo: /etc/passwd.png}\n"),
     "providers.nypost.com.logo must be a path relative to static/"),
    (lambda p: (p / "site.yaml").write_text("providers:\n  nypost.com: {logo: logos/nypost.svg.txt}\n"),
     "providers.nypost.com.logo must be an image file"),
    (lambda p: (os.symlink(p / "site.yaml", p / "static/logos/out.svg"),
                (p / "site.yaml").write_text("providers:\n  nypost.com: {logo: logos/out.svg}\n")),
     "providers.nypost.com.logo: logos/out.svg resolves to a file outside static/"),
    (lambda p: (p / "site.yaml").write_text("providers:\n  cityam.com:\n    color: #f6d32d\n"),
     "providers.cityam.com.color is empty: quote a hex colour"),
])
def test_bad_overrides_stop_the_build_with_exit_status_2(tmp_path: Path, edit, message: str):
    project = providers_project(tmp_path / "project")
    edit(project)
    result = run_build("build", cwd=project)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (project / "_site").exists()
