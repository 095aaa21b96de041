"""Search end to end: ``python build.py`` runs Pagefind, and a real Chromium finds stories with it."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from digest import search
from digest.pipeline import BuildOptions, build
from tests.e2e.conftest import chromium
from tests.e2e.test_cli import make_project
from tests.helpers import SECURED, run_build, search_fragments, tree_bytes, write_article

DRAFT_WORD = "Zanzibarquux"  # appears only in a draft's title
ANIMALS = ("Aardvark", "Badger", "Capybara", "Dormouse", "Echidna", "Ferret", "Gibbon", "Hedgehog",
           "Ibex", "Jackal", "Kinkajou", "Lemming")  # one a title: a word only that story has


@pytest.fixture(scope="module")
def searchable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed article plus a draft, built with --drafts under the sub-path /digest/."""
    project = make_project(tmp_path_factory.mktemp("search"))
    (project / "site.yaml").write_text("title: Test Digest\nbase_url: https://example.org/digest/\n")
    write_article(project / "content", "draft.md", title=f"{DRAFT_WORD} plans leaked",
                  webUrl="https://example.com/draft", published=False)
    result = run_build("build", "--drafts", "--output", "serve/digest", cwd=project)
    assert result.returncode == 0, result.stderr
    return project / "serve"


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """A static file server for ``root`` on a free 127.0.0.1 port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def search_browser(root: Path) -> Iterator[tuple[str, Browser, Page, list[str]]]:
    """``root`` served, headless Chromium, and a page that records Content-Security-Policy violations."""
    with serving(root) as origin, chromium() as browser:
        page = browser.new_page()
        blocked: list[str] = []
        page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(m.text))
        yield origin, browser, page, blocked


def test_index_holds_published_articles_only(searchable: Path):
    site = searchable / "digest"
    pages = search_fragments(site)
    assert [p["url"] for p in pages] == [
        "/2020/08/17/de-blasio-calls-for-clear-standards-for-facial-recognition-tech-for-nypd/"]
    assert "New York Post" in pages[0]["content"] and "Computer Vision" in pages[0]["content"]
    blob = b"".join(tree_bytes(site).values()) + b"".join(json.dumps(p).encode() for p in pages)
    assert SECURED.encode() not in blob
    assert DRAFT_WORD not in json.dumps(pages)
    draft_page = next(site.glob("*/*/*/zanzibarquux-plans-leaked/index.html")).read_text()
    assert "data-pagefind-body" not in draft_page


def test_typing_a_title_word_lists_the_article_and_the_header_box_works_without_js(searchable: Path):
    with search_browser(searchable) as (origin, browser, page, blocked):
        page.goto(f"{origin}/digest/search/")
        page.fill(".search__input", "Blasio")
        link = page.wait_for_selector(".search__link", timeout=15000)
        assert link.inner_text().startswith("De Blasio calls for")
        assert link.get_attribute("href") == (
            "/digest/2020/08/17/de-blasio-calls-for-clear-standards-for-facial-recognition-tech-for-nypd/")
        assert "mark" in page.inner_html(".search__excerpt")  # the hit is highlighted
        page.fill(".search__input", DRAFT_WORD)
        page.wait_for_selector(f"text=No stories found for “{DRAFT_WORD}”", timeout=15000)
        # The header box hands its words to the search page.
        page.goto(f"{origin}/digest/")
        page.fill("#site-search-q", "NYPD")
        page.press("#site-search-q", "Enter")
        page.wait_for_url("**/digest/search/?q=NYPD")
        assert page.wait_for_selector(".search__link", timeout=15000).inner_text().startswith("De Blasio calls for")
        assert blocked == []
        # With JavaScript off, the header box still takes the reader to the search page.
        no_js = browser.new_context(java_script_enabled=False).new_page()
        no_js.goto(f"{origin}/digest/")
        no_js.fill("#site-search-q", "facial")
        no_js.press("#site-search-q", "Enter")
        no_js.wait_for_url("**/digest/search/?q=facial")
        assert "Search needs JavaScript" in no_js.inner_text("main")


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve stories whose index is split into four shards (about three articles a shard)."""
    project = tmp_path_factory.mktemp("sharded")
    for number, animal in enumerate(ANIMALS):
        write_article(project / "content", f"{animal}.md", title=f"{animal} sanctuary opens on the harbour",
                      webUrl=f"https://example.com/{animal}/", publishedDateTime=f"2024-05-{number + 1:02d}T10:00:00Z")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_ARTICLES", 3)
        build(BuildOptions(content=project / "content", output=project / "site"))
    return project / "site"


def test_the_search_page_merges_every_shard_and_finds_a_story_outside_the_first(sharded: Path):
    shards = sorted((sharded / "pagefind").iterdir())
    assert [shard.name for shard in shards] == ["4-00", "4-01", "4-03"]  # no story's webUrl hashes to 4-02: left out
    assert 'data-bundles="/pagefind/4-00/ /pagefind/4-01/ /pagefind/4-03/"' in (sharded / "search" / "index.html").read_text()
    title = search_fragments(sharded, shards[-1].name)[0]["meta"]["title"]  # a story the first shard, the one the page loads first, does not have
    with search_browser(sharded) as (origin, _, page, problems):
        page.on("response", lambda r: "/pagefind/" in r.url and r.status != 200 and problems.append(r.url))
        page.goto(f"{origin}/search/")
        page.fill(".search__input", title.split()[0])
        link = page.wait_for_selector(".search__link", timeout=15000)
        assert link.inner_text() == title and page.locator(".search__link").count() == 1
        page.fill(".search__input", "harbour")  # in every story: results from every shard, ranked together
        page.wait_for_selector("text=12 stories for “harbour”", timeout=15000)
        assert {item.inner_text() for item in page.locator(".search__link").all()} == {
            f"{animal} sanctuary opens on the harbour" for animal in ANIMALS}
        assert problems == []


def test_second_build_rewrites_no_index_file_and_a_new_article_is_indexed(tmp_path: Path):
    project = make_project(tmp_path)
    assert run_build("build", cwd=project).returncode == 0
    before = tree_bytes(project / "_site")
    again = run_build("build", "--cache", str(tmp_path / "fresh-build-cache"), cwd=project)  # a full run, not the no-change shortcut
    assert again.returncode == 0 and " 0 written," in again.stdout
    assert tree_bytes(project / "_site") == before
    assert any(name.startswith("pagefind/") for name in before)
    write_article(project / "content", "new.md", title="Lighthouse keepers vote", webUrl="https://example.com/new")
    assert run_build("build", cwd=project).returncode == 0
    assert "/2024/05/01/lighthouse-keepers-vote/" in [p["url"] for p in search_fragments(project / "_site")]


def test_missing_binary_builds_without_search_and_says_so(tmp_path: Path):
    project = make_project(tmp_path)
    result = run_build("build", cwd=project, env={"PAGEFIND_BINARY_PATH": str(tmp_path / "no-such-pagefind")})
    assert result.returncode == 0
    assert "warning: search is on but the Pagefind binary is not installed" in result.stderr
    assert "pip install 'pagefind[bin]'" in result.stderr
    site = project / "_site"
    assert not (site / "pagefind").exists() and not (site / "search").exists()
    assert 'role="search"' not in (site / "index.html").read_text()


def test_search_false_leaves_search_out(tmp_path: Path):
    project = make_project(tmp_path)
    (project / "site.yaml").write_text("search: false\n")
    result = run_build("build", cwd=project)
    assert result.returncode == 0 and result.stderr == ""
    assert not (project / "_site" / "pagefind").exists() and not (project / "_site" / "search").exists()
    (project / "site.yaml").write_text("search: yes please\n")
    result = run_build("build", cwd=project)
    assert result.returncode == 2 and "search must be true or false" in result.stderr


def test_failing_indexer_keeps_the_previous_site(tmp_path: Path):
    project = make_project(tmp_path)
    assert run_build("build", cwd=project).returncode == 0
    before = tree_bytes(project / "_site")
    write_article(project / "content", "new.md", webUrl="https://example.com/new")
    result = run_build("build", cwd=project, env={"PAGEFIND_BINARY_PATH": "/bin/false"})
    assert result.returncode == 2 and "search index: pagefind failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_bytes(project / "_site") == before
