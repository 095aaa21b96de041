"""Incremental builds: the cache skips what did not change, and never leaves a stale page."""

from __future__ import annotations

import gc
import os
import re
import time
from pathlib import Path

import pytest

from digest import cache as cache_module
from digest import pipeline as pipeline_module
from digest import content as content_module
from digest import unchanged as unchanged_module
from digest.pipeline import BuildOptions, BuildResult, build
from tests.conftest import SYNTHETIC_COUNT as COUNT
from tests.helpers import tree_bytes, write_article


def _build(synthetic_project: Path, output: str = "_site", cache: str | None = ".cache", **options) -> BuildResult:
    return build(BuildOptions(
        content=synthetic_project / "content",
        output=synthetic_project / output,
        templates=synthetic_project / "templates",
        static=synthetic_project / "static",
        cache_dir=synthetic_project / cache if cache else None,
        **options,
    ))


def _clean_build(synthetic_project: Path) -> dict[str, bytes]:
    """What a full build from scratch (no cache, empty output) makes of the same sources."""
    _build(synthetic_project, output="clean", cache=None)
    return tree_bytes(synthetic_project / "clean")


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _retitle(path: Path, title: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'^title: ".*"$', f'title: "{title}"', text, count=1, flags=re.M), encoding="utf-8")


def test_a_second_build_renders_and_writes_nothing(synthetic_project: Path):
    first = _build(synthetic_project)
    assert first.rendered == first.pages > COUNT
    before = _mtimes(synthetic_project / "_site")
    second = _build(synthetic_project)
    assert (second.rendered, second.parsed, second.stats.written, second.stats.removed) == (0, 0, 0, 0)
    assert _mtimes(synthetic_project / "_site") == before


def test_editing_one_article_renders_only_its_pages_and_matches_a_clean_build(synthetic_project: Path):
    first = _build(synthetic_project)
    edited = synthetic_project / "content" / "000" / "000100.md"
    _retitle(edited, "Edited headline (synthetic)")
    second = _build(synthetic_project)
    assert second.parsed == 1
    assert 0 < second.rendered < first.pages // 4
    site = tree_bytes(synthetic_project / "_site")
    assert site == _clean_build(synthetic_project)
    pages = [path for path, data in site.items() if b"Edited headline (synthetic)" in data]
    assert any(path.endswith("/edited-headline-synthetic/index.html") for path in pages)
    assert "index.html" in pages or any(path.startswith("topics/") for path in pages)  # the lists that show it


def _showing(site: dict[str, bytes], article: Path) -> tuple[str, set[str]]:
    """The article's page in a built site, and every page that shows it: its own and those that link it."""
    title = re.search(r'^title: "(.*)"$', article.read_text(encoding="utf-8"), re.M).group(1)
    [page] = [p for p, data in site.items() if p.count("/") == 4 and f"<title>{title}".encode() in data]
    link = f'href="/{page.removesuffix("index.html")}"'.encode()
    return page, {page} | {p for p, data in site.items() if p.endswith(".html") and link in data}


def test_editing_an_excerpt_renders_exactly_the_pages_that_show_the_article(synthetic_project: Path):
    """Page inputs hold references and counts, not whole topics or providers: a topic's other list
    pages, the archive indexes and the sources index do not depend on one article's text."""
    _build(synthetic_project)
    edited = synthetic_project / "content" / "000" / "000100.md"
    _, showing = _showing(tree_bytes(synthetic_project / "_site"), edited)
    text = edited.read_text(encoding="utf-8")
    edited.write_text(re.sub(r'^excerpt: ".*"$', 'excerpt: "An edited summary (synthetic)."', text, count=1, flags=re.M),
                      encoding="utf-8")
    result = _build(synthetic_project)
    assert result.rendered == len(showing) < 20  # its page, its list pages, the sidebars that list it
    assert tree_bytes(synthetic_project / "_site") == _clean_build(synthetic_project)


def test_a_value_pages_derive_from_an_article_re_renders_exactly_the_pages_that_show_it(synthetic_project: Path):
    """A page's fingerprint hashes its recipe's inputs (the post), not what the recipe derives from
    them. The time an article was published shows, one second later, in its page's derived sharing
    tags and JSON-LD as well as in every card and sidebar entry that shows it: each of those pages,
    and no other, is rendered again, and the site is the one a clean build makes."""
    _build(synthetic_project)
    edited = synthetic_project / "content" / "000" / "000100.md"
    before = tree_bytes(synthetic_project / "_site")
    page, showing = _showing(before, edited)
    text = edited.read_text(encoding="utf-8")
    published = re.search(r"^publishedDateTime: (.*)T(.*):00Z$", text, re.M)
    edited.write_text(text.replace(published.group(0), f"publishedDateTime: {published[1]}T{published[2]}:01Z", 1),
                      encoding="utf-8")
    result = _build(synthetic_project)
    after = tree_bytes(synthetic_project / "_site")
    changed = {path for path, data in after.items() if path.endswith(".html") and before.get(path) != data}
    assert result.rendered == len(showing) and changed == showing
    iso = f"{published[1]}T{published[2]}:01+00:00"  # the default site time zone is UTC
    assert f'<meta property="article:published_time" content="{iso}">'.encode() in after[page]
    assert f'"datePublished": "{iso}"'.encode() in after[page]
    assert after == _clean_build(synthetic_project)


def test_a_renamed_topic_reaches_the_breadcrumbs_and_json_ld_of_articles_that_did_not_change(site_builder, tmp_path: Path):
    """A topic's name is its most common spelling: one article's edit renames it for all. The other
    articles' files did not change, but their posts name the topic, so their pages (whose breadcrumbs,
    section and JSON-LD the recipe derives from the post) are rendered again with the new name."""
    content = tmp_path / "content"
    for n, spelling in enumerate(["Space", "Space", "SPACE"]):
        write_article(content, f"{n}.md", title=f"Story {n}", webUrl=f"https://example.com/{n}", topics=[spelling],
                      publishedDateTime=f"2024-05-0{n + 1}T10:00:00Z")
    first, site = site_builder(content, cache_dir=tmp_path / ".cache")
    unedited = site / "2024" / "05" / "02" / "story-1" / "index.html"
    assert b'"articleSection": ["Space"]' in unedited.read_bytes()
    write_article(content, "0.md", title="Story 0", webUrl="https://example.com/0", topics=["SPACE"],
                  publishedDateTime="2024-05-01T10:00:00Z")
    second, _ = site_builder(content, cache_dir=tmp_path / ".cache")
    assert second.rendered == second.pages == first.pages  # every page's navigation names the topic
    page = unedited.read_bytes()
    assert b'"articleSection": ["SPACE"]' in page and b'<meta property="article:section" content="SPACE">' in page
    assert b'"position": 2, "name": "SPACE", "item": "http://localhost:8000/topics/space/"' in page  # the breadcrumb
    _, clean = site_builder(content, output=tmp_path / "clean")
    assert tree_bytes(site) == tree_bytes(clean)


def test_deleting_an_article_removes_its_page(synthetic_project: Path):
    _build(synthetic_project)
    victim = synthetic_project / "content" / "000" / "000042.md"
    title = re.search(r'^title: "(.*)"$', victim.read_text(encoding="utf-8"), re.M).group(1)
    before = tree_bytes(synthetic_project / "_site")
    [page] = [p for p, data in before.items() if p.count("/") == 4 and f"<title>{title}".encode() in data]
    link = ("/" + page.removesuffix("index.html")).encode()
    victim.unlink()
    result = _build(synthetic_project)
    site = tree_bytes(synthetic_project / "_site")
    gone = set(before) - set(site)
    # the page, and the search index files whose content-hashed names changed with it
    assert {p for p in gone if not p.startswith("pagefind/")} == {page} and result.stats.removed == len(gone)
    assert page not in site and not any(link in data for data in site.values())
    assert site == _clean_build(synthetic_project)


def test_a_template_change_renders_the_pages_that_use_it_and_no_others(synthetic_project: Path):
    first = _build(synthetic_project)
    article = synthetic_project / "templates" / "article.html"
    article.write_text(article.read_text(encoding="utf-8").replace("</article>", "</article><!-- v2 -->", 1))
    second = _build(synthetic_project)
    assert second.rendered == COUNT  # every article page, and no list page
    assert tree_bytes(synthetic_project / "_site") == _clean_build(synthetic_project)
    card = synthetic_project / "templates" / "partials" / "card.html"  # printed with fragment(), not included
    card.write_text(card.read_text(encoding="utf-8").replace("</article>", "</article><!-- card v2 -->", 1))
    with_cards = [path for path, data in tree_bytes(synthetic_project / "_site").items() if b'<article class="card' in data]
    assert _build(synthetic_project).rendered == len(with_cards)  # the list pages, and no article page
    site = tree_bytes(synthetic_project / "_site")
    assert site == _clean_build(synthetic_project) and all(b"<!-- card v2 -->" in site[path] for path in with_cards)
    base = synthetic_project / "templates" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</footer>", "<p>v3</p></footer>", 1))
    assert _build(synthetic_project).rendered == first.pages  # every page extends base.html


def test_a_new_generator_version_invalidates_the_cache(synthetic_project: Path, monkeypatch: pytest.MonkeyPatch):
    first = _build(synthetic_project)
    monkeypatch.setattr(cache_module, "GENERATOR", "a-newer-release")
    again = _build(synthetic_project)
    assert (again.rendered, again.parsed) == (first.pages, COUNT)


@pytest.mark.parametrize("jobs", [1, 2], ids=["checked in the build", "checked by its helper process"])
def test_an_output_file_changed_or_removed_by_hand_is_rendered_again(synthetic_project: Path, jobs: int):
    _build(synthetic_project, jobs=jobs)
    site = synthetic_project / "_site"
    home, article = site / "index.html", next(site.glob("20*/*/*/*/index.html"))
    good = {path: path.read_bytes() for path in (home, article)}
    home.write_bytes(b"tampered")
    article.unlink()
    _retitle(synthetic_project / "content" / "000" / "000100.md", "Edited headline (synthetic)")  # an edit build
    result = _build(synthetic_project, jobs=jobs)
    assert all(path.read_bytes() == data for path, data in good.items())
    assert tree_bytes(site) == _clean_build(synthetic_project)
    assert result.rendered < result.pages // 2


def test_the_output_is_the_same_for_any_number_of_workers(synthetic_project: Path):
    _build(synthetic_project, output="one", cache=None, jobs=1)
    _build(synthetic_project, output="two", cache=None, jobs=2)
    assert tree_bytes(synthetic_project / "one") == tree_bytes(synthetic_project / "two")


@pytest.mark.parametrize("jobs", [1, 2])
def test_after_an_edit_of_the_base_template_every_page_is_rendered_again_as_a_clean_build_would(
        synthetic_project: Path, jobs: int):
    first = _build(synthetic_project, jobs=jobs)
    base = synthetic_project / "templates" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</body>", "<!-- edited --></body>"), encoding="utf-8")
    _retitle(synthetic_project / "content" / "000" / "000100.md", "Edited with the template (synthetic)")
    second = _build(synthetic_project, jobs=jobs)
    assert second.rendered == second.pages == first.pages
    assert tree_bytes(synthetic_project / "_site") == _clean_build(synthetic_project)
    assert b"<!-- edited --></body>" in (synthetic_project / "_site" / "index.html").read_bytes()


def test_with_nothing_changed_the_build_stops_early_and_still_reports_problems(synthetic_project: Path):
    (synthetic_project / "content" / "broken.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    first = _build(synthetic_project)
    before = _mtimes(synthetic_project / "_site")
    second = _build(synthetic_project)
    assert second.unchanged and not first.unchanged
    assert second.problems == first.problems and second.errors  # the broken file is named again (exit status 1)
    assert second.pages == first.pages and _mtimes(synthetic_project / "_site") == before


@pytest.mark.parametrize("change", ["content", "template", "static", "config", "output edited", "output deleted",
                                    "output added", "drafts option"])
def test_any_changed_input_or_output_means_a_real_build(synthetic_project: Path, change: str):
    config = synthetic_project / "site.yaml"
    config.write_text("title: Synthetic digest\n", encoding="utf-8")
    options = {"config": config}
    _build(synthetic_project, **options)
    site = synthetic_project / "_site"
    if change == "content":
        _retitle(synthetic_project / "content" / "000" / "000007.md", "Changed on disk (synthetic)")
    elif change == "template":
        (synthetic_project / "templates" / "404.html").write_text("{% extends 'base.html' %}", encoding="utf-8")
    elif change == "static":
        (synthetic_project / "static" / "css" / "site.css").write_text("body{}", encoding="utf-8")
    elif change == "config":
        config.write_text("title: Another title\n", encoding="utf-8")
    elif change == "output edited":
        (site / "feed.xml").write_bytes(b"<feed/>")
    elif change == "output deleted":
        (site / "robots.txt").unlink()
    elif change == "output added":
        (site / "stray.html").write_text("left here by hand", encoding="utf-8")
    else:
        options["drafts"] = True
    result = _build(synthetic_project, **options)
    assert not result.unchanged
    _build(synthetic_project, output="clean", cache=None, **options)
    assert tree_bytes(site) == tree_bytes(synthetic_project / "clean")


def _record(synthetic_project: Path) -> unchanged_module.LastBuild:
    path = unchanged_module.record_path(synthetic_project / ".cache", synthetic_project / "content", synthetic_project / "_site")
    record = unchanged_module.load(path)
    assert record is not None
    return record


def _stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_the_record_of_an_edit_build_holds_the_output_as_it_is(synthetic_project: Path):
    """An edit build looks up only the files it wrote; those it kept keep the last record's entries."""
    _build(synthetic_project)
    site = synthetic_project / "_site"
    assert any(path.startswith("pagefind/") for path in _stats(site))  # kept files that are not pages
    _retitle(synthetic_project / "content" / "000" / "000100.md", "Edited headline (synthetic)")
    assert not _build(synthetic_project).unchanged
    assert _record(synthetic_project).files == _stats(site)
    assert _build(synthetic_project).unchanged


def test_a_kept_file_changed_by_hand_costs_one_real_build_then_the_shortcut_works_again(synthetic_project: Path):
    _build(synthetic_project)
    site = synthetic_project / "_site"
    kept = next(path for path in sorted(site.glob("pagefind/*/fragment/*")) if path.is_file())
    name = kept.relative_to(site).as_posix()
    kept.write_bytes(kept.read_bytes() + b"by hand")
    # A new draft: an input that changes no page, so the search index is kept as it is, that file too.
    write_article(synthetic_project / "content", "draft.md", title="Not yet", webUrl="https://e.com/draft", published=False)
    assert not _build(synthetic_project).unchanged
    assert kept.read_bytes().endswith(b"by hand")
    assert _record(synthetic_project).files[name] != _stats(site)[name]  # the last record's entry, not vouching for it
    assert not _build(synthetic_project).unchanged  # so the next check builds for real, and records what is there
    assert _record(synthetic_project).files == _stats(site)
    assert _build(synthetic_project).unchanged


def test_objects_frozen_for_rendering_are_collectable_again_after_the_build(synthetic_project: Path):
    _build(synthetic_project, jobs=2)
    assert gc.get_freeze_count() == 0  # a long-running `serve` must not keep every old build alive


def test_only_a_build_whose_process_ends_next_leaves_its_model_alive(synthetic_project: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    left: list[object] = []
    monkeypatch.setattr(pipeline_module, "_LEFT_FOR_EXIT", left)
    _build(synthetic_project)
    assert left == []  # `serve` builds again and again: no build may keep the last one's model
    _retitle(next((synthetic_project / "content").rglob("*.md")), "Left for the exit")
    _build(synthetic_project, exiting=True)
    assert len(left) == 1


def _cache_files(synthetic_project: Path) -> dict[str, int]:
    return {p.relative_to(synthetic_project / ".cache").as_posix(): p.stat().st_mtime_ns
            for p in (synthetic_project / ".cache").rglob("*") if p.is_file()}


def test_an_edit_rewrites_only_the_cache_files_it_changes(synthetic_project: Path):
    _build(synthetic_project)
    before = _cache_files(synthetic_project)
    assert sum("/articles-" in name for name in before) > cache_module.SHARDS // 2  # the parsed articles, sharded
    _retitle(synthetic_project / "content" / "000" / "000100.md", "Edited headline (synthetic)")
    _build(synthetic_project)
    after = _cache_files(synthetic_project)
    rewritten = {name.split("/")[-1].split("-")[0] for name in after if after[name] != before.get(name)}
    # one shard of parsed articles, the page fingerprints, the related-story matching, the similar
    # pairs of story clustering and the titles' facts (a title is part of all three) and the no-change record
    assert sorted(rewritten) == ["articles", "clusters", "last", "pages", "related", "titles"]
    assert sum("/articles-" in name and after[name] != before[name] for name in after) == 1


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts this process's open files in /proc")
def test_edit_builds_leave_no_file_open(synthetic_project: Path):
    """The build cache checks output files through a handle on the output folder: closed after each build."""
    _build(synthetic_project)
    open_files = len(os.listdir("/proc/self/fd"))
    for n in range(3):
        _retitle(synthetic_project / "content" / "000" / "000100.md", f"Edited headline {n} (synthetic)")
        result = _build(synthetic_project)
        assert 0 < result.rendered < result.pages  # most pages checked against their files and carried over
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == open_files


def test_the_cache_loads_each_provider_once(synthetic_project: Path):
    """Each provider pickled once per shard, and one object per name and domain however many shards name it."""
    _build(synthetic_project)
    _retitle(synthetic_project / "content" / "000" / "000100.md", "Edited headline (synthetic)")
    _build(synthetic_project)  # an article parsed again beside the others from the cache
    cache = cache_module.BuildCache.open(synthetic_project / ".cache", synthetic_project / "content",
                                         synthetic_project / "_site", "UTC")
    providers = [entry.article.provider for entry in cache.parsed.values()]
    assert len(providers) == COUNT > 2 * len(set(providers))
    assert len({id(provider) for provider in providers}) == len(set(providers))


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "emptied", "garbage"])
def test_a_damaged_cache_is_ignored(synthetic_project: Path, damage: str):
    _build(synthetic_project)
    _retitle(synthetic_project / "content" / "000" / "000100.md", "Edited headline (synthetic)")
    for path in (synthetic_project / ".cache").rglob("*"):
        if path.is_file():
            data = bytearray(path.read_bytes())
            if damage == "truncated":
                data = data[: len(data) // 2]
            elif damage == "one byte changed":
                data[len(data) * 2 // 3] ^= 1
            elif damage == "emptied":
                data = bytearray()
            else:
                data = bytearray(b"\x80\x05garbage" * 100)
            path.write_bytes(bytes(data))
    result = _build(synthetic_project)
    assert (result.parsed, result.rendered, result.unchanged) == (COUNT, result.pages, False)
    assert tree_bytes(synthetic_project / "_site") == _clean_build(synthetic_project)
    assert _build(synthetic_project).unchanged  # and the cache works again


def test_a_same_size_edit_with_the_old_mtime_is_seen(synthetic_project: Path):
    """``cp -p`` or an editor that restores the modification time: the change time still moves."""
    _build(synthetic_project)
    edited = synthetic_project / "content" / "000" / "000007.md"
    before = edited.stat()
    text = edited.read_text(encoding="utf-8")
    title = re.search(r'^title: "(.*)"$', text, re.M).group(1)
    same_size = "X" * len(title)
    edited.write_text(text.replace(title, same_size, 1), encoding="utf-8")
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (edited.stat().st_size, edited.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    result = _build(synthetic_project)
    assert not result.unchanged and result.parsed == 1
    site = tree_bytes(synthetic_project / "_site")
    assert site == _clean_build(synthetic_project) and any(same_size.encode() in data for data in site.values())


def test_files_changed_too_recently_for_their_stamp_are_compared_by_their_bytes(synthetic_project: Path,
                                                                               monkeypatch: pytest.MonkeyPatch):
    """On a file system whose clock did not tick between two saves, the stamp stays the same: files
    changed in the last seconds are read, so even then an edit is seen."""
    frozen = time.time_ns()
    monkeypatch.setattr(content_module, "stamp", lambda stat: (stat.st_size, frozen, frozen, 0))
    first = _build(synthetic_project)
    edited = synthetic_project / "content" / "000" / "000007.md"
    text = edited.read_text(encoding="utf-8")
    title = re.search(r'^title: "(.*)"$', text, re.M).group(1)
    edited.write_text(text.replace(title, "Y" * len(title), 1), encoding="utf-8")
    result = _build(synthetic_project)
    assert not result.unchanged and result.parsed == 1 and result.rendered < first.pages
    assert tree_bytes(synthetic_project / "_site") == _clean_build(synthetic_project)
    assert _build(synthetic_project).unchanged  # compared by bytes again, and found the same


def test_once_recent_files_settle_the_shortcut_stops_reading_them(synthetic_project: Path, monkeypatch: pytest.MonkeyPatch):
    first = _build(synthetic_project)  # the files were just copied: their stamps cannot vouch for them yet
    later = time.time_ns() + 2 * content_module.SETTLE_NS
    monkeypatch.setattr(content_module, "time_ns", lambda: later)
    assert _build(synthetic_project).unchanged  # compared by their bytes, and recorded by their stamps
    monkeypatch.setattr(unchanged_module, "_hash", lambda path: pytest.fail(f"{path} was read"))
    again = _build(synthetic_project)
    assert again.unchanged and again.problems == first.problems
    _retitle(synthetic_project / "content" / "000" / "000007.md", "Changed on disk (synthetic)")
    monkeypatch.undo()
    assert not _build(synthetic_project).unchanged


def test_a_file_name_that_is_not_utf8_is_cached_like_any_other(synthetic_project: Path):
    """File names are bytes on POSIX: Python gives undecodable ones as surrogates, which UTF-8 cannot encode."""
    source = synthetic_project / "content" / "000" / "000007.md"
    odd = Path(os.fsdecode(os.fsencode(synthetic_project / "content") + b"/caf\xe9.md"))
    text = re.sub(r'^webUrl: ".*"$', 'webUrl: "https://e.com/odd"', source.read_text(encoding="utf-8"), count=1, flags=re.M)
    odd.write_text(text, encoding="utf-8")
    first = _build(synthetic_project)
    assert first.parsed == COUNT + 1
    assert _build(synthetic_project).unchanged
    _retitle(odd, "Edited headline (synthetic)")
    assert _build(synthetic_project).parsed == 1
