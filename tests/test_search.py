"""The sharded search index: which shard an article is in, when a shard is re-indexed, and that an
incremental build writes the same index as a clean one."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from benchmarks.corpus import write_corpus
from digest import search
from digest.pages import Page
from digest.pipeline import BuildOptions, BuildResult, build
from tests.helpers import search_fragments, tree_bytes

COUNT = 40
SHARD_ARTICLES = 10  # so COUNT articles make 4 shards


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(search, "SHARD_ARTICLES", SHARD_ARTICLES)
    write_corpus(tmp_path / "content", COUNT)
    return tmp_path


def _build(project: Path, output: str = "_site", cache: str | None = ".cache", jobs: int = 1) -> BuildResult:
    return build(BuildOptions(content=project / "content", output=project / output,
                              cache_dir=project / cache if cache else None, jobs=jobs))


@pytest.fixture(params=[1, 2], ids=["1 job", "2 jobs"])
def jobs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """Builds with one job, and with two, where the shards of the articles parsed again are indexed
    while the other pages are fingerprinted (``search.EarlyIndex``): checked to really happen, and
    at a lower priority than the build's, so that the build keeps its core."""
    started = []
    start = search.EarlyIndex.start
    monkeypatch.setattr(search.EarlyIndex, "start", lambda self: (started.append(self.names), start(self)))
    build_pid, niceness = os.getpid(), os.getpriority(os.PRIO_PROCESS, 0)
    log = tmp_path / "indexed by"  # a forked child's appends reach the test through a file
    index_shard = search.index_shard

    def logged(*args: Any, **kwargs: Any) -> list[tuple[str, bytes]]:
        with log.open("a") as out:
            out.write(f"{os.getpid() != build_pid} {os.getpriority(os.PRIO_PROCESS, 0)}\n")
        return index_shard(*args, **kwargs)

    monkeypatch.setattr(search, "index_shard", logged)
    yield request.param
    assert bool(started) == (request.param > 1)
    early = [int(nice) for forked, nice in map(str.split, log.read_text().splitlines()) if forked == "True"]
    assert bool(early) == (request.param > 1)
    assert all(nice == min(19, niceness + search.EARLY_NICENESS) for nice in early)


def _clean_build(project: Path) -> dict[str, bytes]:
    shutil.rmtree(project / "clean", ignore_errors=True)
    _build(project, output="clean", cache=None)
    return tree_bytes(project / "clean")


def _shard_inodes(site: Path) -> dict[str, set[int]]:
    """The inode of every file of each shard: a shard kept as it was keeps its files."""
    return {folder.name: {p.stat().st_ino for p in folder.rglob("*") if p.is_file()}
            for folder in (site / "pagefind").iterdir()}


def _article_page(site: Path, source: Path) -> str:
    title = re.search(r'^title: "(.*)"$', source.read_text(encoding="utf-8"), re.M).group(1)
    [page] = [p.relative_to(site).as_posix() for p in site.glob("*/*/*/*/index.html")
              if f"<title>{title}".encode() in p.read_bytes()]
    return page


def _shards(site: Path) -> list[search.Shard]:
    """The shards of ``site``'s search index, with the pages each one indexed, as the build planned them."""
    return [search.Shard(folder.name, tuple(sorted(f["url"].lstrip("/") + "index.html" for f in search_fragments(site, folder.name))),
                         primary=(folder / search.ENGINE).is_file())
            for folder in sorted((site / "pagefind").iterdir())]


def _membership(site: Path) -> dict[str, str]:
    """The shard each article page of ``site`` is indexed in, by its output path."""
    return {page: shard.name for shard in _shards(site) for page in shard.pages}


def _web_url(source: Path) -> str:
    return re.search(r'^webUrl: "(.*)"$', source.read_text(encoding="utf-8"), re.M).group(1)


def _reword(path: Path, field: str, text: str) -> None:
    source = path.read_text(encoding="utf-8")
    path.write_text(re.sub(rf'^{field}: ".*"$', f'{field}: "{text}"', source, count=1, flags=re.M), encoding="utf-8")


def test_shard_count_doubles_in_coarse_steps_up_to_a_limit():
    counts = [search.shard_count(n) for n in (0, 1, 1000, 1001, 2000, 2001, 10_000, 100_000, 10_000_000)]
    assert counts == [1, 1, 1, 2, 2, 4, 16, 64, 64]


def test_an_article_keeps_its_shard_when_others_come_and_go_or_its_url_changes():
    pages = [(f"https://example.com/news/{n}", Page(f"/2024/05/01/story-{n}/", "article.html", dict, ())) for n in range(3000)]
    before = {page: shard.name for shard in search.plan_shards(pages) for page in shard.pages}
    after = {page: shard.name for shard in search.plan_shards(pages[:2500]) for page in shard.pages}
    assert len(set(before.values())) == 4 and all(after[page] == before[page] for page in after)
    # New titles, so new slugs: every article stays in the shard of its webUrl.
    retitled = [(web_url, Page(page.url.replace("story-", "retitled-story-"), "article.html", dict, ())) for web_url, page in pages]
    moved = {page.replace("retitled-story-", "story-"): shard.name for shard in search.plan_shards(retitled) for page in shard.pages}
    assert moved == before
    shards = search.plan_shards(pages)
    assert [shard.primary for shard in shards] == [True, False, False, False]
    assert all(list(shard.pages) == sorted(shard.pages) for shard in shards)
    assert sum(len(shard.pages) for shard in shards) == 3000
    assert all(500 < len(shard.pages) < 1000 for shard in shards)  # about even


def test_what_is_indexed_is_the_marked_element_with_the_language_and_title():
    page = (b'<!DOCTYPE html>\n<html lang="en"><head><title>Own story</title><meta name="x" content="%s"></head>'
            b'<body><nav>%s</nav><article data-pagefind-body><h1>Own story</h1><article><p>quoted</p></article>'
            b'<p data-pagefind-ignore>x</p></article><aside class="related"><a>Neighbour, %s</a></aside></body></html>')
    indexed = search.indexed_part(page % (b"a", b"b", b"c"))
    assert indexed == (b'<!DOCTYPE html>\n<html lang="en"><title>Own story</title><body><article data-pagefind-body>'
                       b'<h1>Own story</h1><article><p>quoted</p></article><p data-pagefind-ignore>x</p></article>'
                       b'</body></html>')
    # what lies outside the element (sharing tags, navigation, the related sidebar) does not count
    assert search.indexed_part(page % (b"new", b"new", b"new")) == indexed
    assert search.indexed_part(page.replace(b"<h1>Own", b"<h1>Edited") % (b"a", b"b", b"c")) != indexed
    assert search.indexed_part(b"<html><article><h1>A draft</h1></article></html>") is None
    # anything else Pagefind reads outside it (a filter, metadata, a second body): the whole page counts
    for other in (b'<span data-pagefind-filter="topic">AI</span>', b'<meta data-pagefind-meta="image:/a.png">',
                  b'<main data-pagefind-body>more</main>'):
        whole = page.replace(b"<nav>", b"<nav>" + other) % (b"a", b"b", b"c")
        assert search.indexed_part(whole) == whole
    unclosed = b'<html><main data-pagefind-body><h1>No end tag</h1></html>'
    assert search.indexed_part(unclosed) == unclosed


def test_the_binary_is_the_one_the_pagefind_package_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """find_pagefind repeats the package's lookup rather than importing it (asyncio): the two agree."""
    from pagefind.service import get_executable

    monkeypatch.delenv("PAGEFIND_BINARY_PATH", raising=False)
    assert search.find_pagefind() == get_executable() is not None
    other = tmp_path / "pagefind"
    other.write_bytes(b"")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(other))
    assert search.find_pagefind() == get_executable() == other
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "missing"))
    assert search.find_pagefind() is None


def test_pagefind_indexes_the_same_from_the_marked_element_alone(project: Path, monkeypatch: pytest.MonkeyPatch):
    """Pagefind reads only the indexed element, the language and the title of each page (it reads
    a fifth of the bytes): every shard's files are what the whole pages give."""
    _build(project, cache=None)
    site = project / "_site"
    shards = _shards(site)
    assert sum(len(shard.pages) for shard in shards) == COUNT  # every article is in the index
    assert all(b'class="related"' in (site / path).read_bytes() for shard in shards for path in shard.pages)
    binary = search.find_pagefind()
    trimmed = [search.index_shard(binary, shard, lambda path: site / path) for shard in shards]
    monkeypatch.setattr(search, "indexed_part", lambda page: page)  # hand over the whole pages
    whole = [search.index_shard(binary, shard, lambda path: site / path) for shard in shards]
    assert trimmed == whole
    assert [dict(files) for files in whole] == [{rel: (site / shard.folder / rel).read_bytes() for rel, _ in files}
                                                for shard, files in zip(shards, whole)]


def test_the_index_is_split_into_shards_and_only_the_first_holds_the_engine(project: Path):
    _build(project)
    site = project / "_site"
    shards = sorted(p.name for p in (site / "pagefind").iterdir())
    assert shards == ["4-00", "4-01", "4-02", "4-03"]
    assert [name for name in shards if (site / "pagefind" / name / "pagefind.js").is_file()] == ["4-00"]
    assert not list((site / "pagefind").glob("*/pagefind-ui.*"))  # the ready-made UIs are not published
    entries = [json.loads((site / "pagefind" / name / "pagefind-entry.json").read_bytes()) for name in shards]
    assert sum(entry["languages"]["en"]["page_count"] for entry in entries) == COUNT
    assert len({f["url"] for f in search_fragments(site)}) == COUNT
    search_page = (site / "search" / "index.html").read_text(encoding="utf-8")
    assert 'data-bundles="/pagefind/4-00/ /pagefind/4-01/ /pagefind/4-02/ /pagefind/4-03/"' in search_page


def test_editing_one_article_reindexes_its_shard_alone_and_matches_a_clean_build(project: Path, jobs: int):
    _build(project, jobs=jobs)
    site = project / "_site"
    edited = project / "content" / "000" / "000017.md"
    page = _article_page(site, edited)
    before = _shard_inodes(site)
    _reword(edited, "excerpt", "Lighthouse keepers vote to stay (synthetic).")
    _build(project, jobs=jobs)
    after = _shard_inodes(site)
    assert [name for name in before if after[name] != before[name]] == [_membership(site)[page]]
    [fragment] = [f for f in search_fragments(site, _membership(site)[page]) if f["url"] == "/" + page.removesuffix("index.html")]
    assert "Lighthouse keepers" in fragment["content"]
    assert tree_bytes(site) == _clean_build(project)


def test_deleting_drafting_and_adding_articles_keep_the_index_equal_to_a_clean_build(project: Path, jobs: int):
    _build(project, jobs=jobs)
    site = project / "_site"
    content = project / "content" / "000"
    (content / "000003.md").unlink()
    _build(project, jobs=jobs)
    assert len(search_fragments(site)) == COUNT - 1 and tree_bytes(site) == _clean_build(project)
    drafted = content / "000005.md"
    drafted.write_text(drafted.read_text(encoding="utf-8").replace("published: true", "published: false"), encoding="utf-8")
    _build(project, jobs=jobs)
    assert len(search_fragments(site)) == COUNT - 2 and tree_bytes(site) == _clean_build(project)
    write_corpus(project / "more", 12, seed=7)  # 50 articles: 8 shards, every article indexed again
    for index, path in enumerate(sorted((project / "more").rglob("*.md"))):
        shutil.move(path, content / f"more-{index}.md")
    _build(project, jobs=jobs)
    assert sorted(p.name for p in (site / "pagefind").iterdir()) == [f"8-{n:02d}" for n in range(8)]
    assert tree_bytes(site) == _clean_build(project)


def test_a_new_title_reindexes_the_articles_shard_alone_though_its_url_and_neighbours_sidebars_change(project: Path, jobs: int):
    """A retitled article moves to a new URL but stays in the shard of its webUrl, which is indexed
    again for the new URL; it shows its new title in the related sidebars of other articles: their
    pages change, their shards do not."""
    _build(project, jobs=jobs)
    site = project / "_site"
    edited = project / "content" / "000" / "000011.md"
    old_page = _article_page(site, edited)
    before, inodes, old_membership = tree_bytes(site), _shard_inodes(site), _membership(site)
    _reword(edited, "title", "Lighthouse keepers vote to stay (synthetic)")
    _build(project, jobs=jobs)
    after, membership = tree_bytes(site), _membership(site)
    new_page = _article_page(site, edited)
    shard = search.shard_name(_web_url(edited), 4)
    assert new_page != old_page and old_membership[old_page] == membership[new_page] == shard
    assert old_page not in membership  # the index has the article at its new URL only
    neighbours = {membership[p] for p in after if p in membership and p != new_page and before.get(p) != after[p]}
    assert neighbours - {shard}  # sidebars changed in shards the article is not in...
    current = _shard_inodes(site)
    assert [name for name in inodes if current.get(name) != inodes[name]] == [shard]  # ...and only its own was indexed
    assert tree_bytes(site) == _clean_build(project)


def test_a_page_that_moves_to_another_url_in_its_shard_makes_the_shard_stale(project: Path, tmp_path: Path):
    """The same article, the same indexed bytes and the same number of pages, at a new URL: the
    shard's index holds the old URL, so the shard is stale."""
    _build(project)
    site = project / "_site"
    shards = _shards(site)
    version = json.loads((site / "pagefind" / shards[0].name / "pagefind-entry.json").read_bytes())["version"]
    moving, staged = shards[1].pages[0], tmp_path / "staged"
    moved = moving.replace("/index.html", "-moved/index.html")
    (staged / moved).parent.mkdir(parents=True)
    (staged / moved).write_bytes((site / moving).read_bytes())
    shards[1] = search.Shard(shards[1].name, tuple(sorted({*shards[1].pages[1:], moved})), primary=False)
    assert search.stale_shards(shards, site, {moved}, lambda path: staged / path, version) == {shards[1].name}


def test_a_new_pagefind_version_reindexes_every_shard(project: Path):
    _build(project)
    site = project / "_site"
    shards = _shards(site)
    version = json.loads((site / "pagefind" / "4-00" / "pagefind-entry.json").read_bytes())["version"]
    assert search.stale_shards(shards, site, (), lambda path: site / path, version) == frozenset()
    assert search.stale_shards(shards, site, (), lambda path: site / path, "0.0.1") == {s.name for s in shards}
    shutil.rmtree(site / "pagefind" / "4-02")
    assert search.stale_shards(shards, site, (), lambda path: site / path, version) == {"4-02"}


def test_a_pagefind_that_stops_early_is_an_error(tmp_path: Path):
    page = tmp_path / "a" / "index.html"
    page.parent.mkdir()
    page.write_text("<html><article data-pagefind-body><h1>A</h1></article></html>", encoding="utf-8")
    shard = search.Shard("1-00", ("a/index.html",), primary=True)
    with pytest.raises(search.SearchError, match="pagefind stopped before it finished"):
        search.index_shard(Path(shutil.which("cat")), shard, lambda path: tmp_path / path)


def test_a_page_that_cannot_be_read_stops_pagefind_and_is_named(tmp_path: Path):
    """Pagefind waits for the rest of its input: a page the feeder cannot read must end it, or
    both sides would wait for each other forever."""
    page = tmp_path / "a" / "index.html"
    page.parent.mkdir()
    page.write_text("<html><article data-pagefind-body><h1>A</h1></article></html>", encoding="utf-8")
    shard = search.Shard("1-00", ("a/index.html", "b/index.html"), primary=True)
    outcome: list[BaseException | None] = []

    def index() -> None:
        try:
            search.index_shard(search.find_pagefind(), shard, lambda path: tmp_path / path)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - examined below
            outcome.append(exc)

    worker = threading.Thread(target=index, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "indexing hung on a page it could not read"
    [error] = outcome
    assert isinstance(error, search.SearchError) and "cannot read" in str(error) and "b/index.html" in str(error)


def test_the_preview_defers_the_stale_shard_and_its_refresh_catches_up_to_a_clean_build(project: Path):
    from digest.serve import SearchRefresh

    _build(project)
    site = project / "_site"
    edited = project / "content" / "000" / "000017.md"
    page = _article_page(site, edited)
    index_before = {p: d for p, d in tree_bytes(site).items() if p.startswith("pagefind/")}
    _reword(edited, "excerpt", "Lighthouse keepers vote to stay (synthetic).")
    result = build(BuildOptions(content=project / "content", output=site, cache_dir=project / ".cache", jobs=1,
                                defer_search=True))
    assert result.stale_search is not None and result.stale_search.stale == {_membership(site)[page]}
    assert {p: d for p, d in tree_bytes(site).items() if p.startswith("pagefind/")} == index_before  # kept for now
    refresh = SearchRefresh(site, project / "preview-search")
    refresh.pending = {"4-99"}  # a shard an earlier save left stale, gone from this build: dropped
    refresh.queue(result.stale_search)
    assert refresh.pending == result.stale_search.stale and refresh.todo.read_text() == min(refresh.pending)
    refresh._refresh(result.stale_search, threading.Event())
    assert refresh.pending == set() and refresh.failure is None
    assert tree_bytes(site) == _clean_build(project)


def test_a_preview_stopped_mid_refresh_reindexes_what_it_left_when_it_starts_again(project: Path):
    from digest.serve import SearchRefresh

    _build(project)
    site = project / "_site"
    refresh = SearchRefresh(site, project / "preview-search")
    refresh.pending = {"4-01"}
    refresh._save_todo()  # what a preview stopped before refreshing shard 4-01 leaves behind
    SearchRefresh(site, project / "preview-search").forget_unfinished()
    assert not (site / "pagefind" / "4-01").exists() and not refresh.todo.exists()
    _build(project, cache=None)  # the preview's first build: a full one
    assert tree_bytes(site) == _clean_build(project)
