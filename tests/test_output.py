"""Write stage: changes in place or a whole swap, never half a site; stale pages removed, unchanged files kept."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from benchmarks.corpus import write_corpus
from digest import output as output_module
from digest.pipeline import BuildOptions, build
from digest.render import Renderer
from digest.output import OutputError, SiteWriter, check_output_dir
from digest.workers import fork_map
from tests.helpers import tree_bytes


def write(output: Path, files: dict[str, bytes]):
    writer = SiteWriter(output)
    for path, data in files.items():
        writer.add(path, data)
    return writer.commit()


def test_stale_files_are_removed_and_unchanged_files_kept(tmp_path: Path):
    out = tmp_path / "_site"
    stats = write(out, {"index.html": b"a", "old/index.html": b"b"})
    assert (stats.written, stats.unchanged, stats.removed) == (2, 0, 0)
    inode = (out / "index.html").stat().st_ino
    stats = write(out, {"index.html": b"a", "new/index.html": b"c"})
    assert (stats.written, stats.unchanged, stats.removed) == (1, 1, 1)
    assert not (out / "old").exists() and (out / "new/index.html").read_bytes() == b"c"
    assert (out / "index.html").stat().st_ino == inode  # same file, same mtime: deploy syncs skip it


def test_aborted_write_leaves_the_previous_site(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, {"index.html": b"old"})
    writer = SiteWriter(out)
    writer.add("index.html", b"new")
    writer.abort()
    assert (out / "index.html").read_bytes() == b"old"
    assert _siblings_once_settled(out) == SETTLED


def test_the_replaced_site_is_deleted_without_the_build_waiting_for_it(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, {f"page{n}/index.html": b"old" for n in range(300)})
    write(out, {"index.html": b"new"})
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["index.html"]
    assert _siblings_once_settled(out) == SETTLED  # the old tree went away in the background


SETTLED = ["._site.files", "_site"]  # the output and the record of its files, nothing else


def _siblings_once_settled(out: Path, timeout: float = 30.0) -> list[str]:
    """What is beside the output folder once background deletions have finished (or the time is up)."""
    deadline = time.monotonic() + timeout
    while (names := sorted(p.name for p in out.parent.iterdir())) != SETTLED and time.monotonic() < deadline:
        time.sleep(0.05)
    return names


def test_dangerous_output_folders_are_refused(tmp_path: Path):
    content = tmp_path / "content"
    content.mkdir()
    for bad in (tmp_path, content, content / "out", Path("/")):
        with pytest.raises(OutputError):
            check_output_dir(bad, [content])
    check_output_dir(tmp_path / "_site", [content])


def test_files_staged_by_forked_workers_are_recorded_by_the_parent(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, {"same/index.html": b"a", "old/index.html": b"b"})
    inode = (out / "same/index.html").stat().st_ino
    pages = {"same/index.html": b"a", "new/index.html": b"c", "new/deeper/index.html": b"d"}
    writer = SiteWriter(out)
    results = dict(fork_map(lambda rel: writer.stage(rel, pages[rel]), list(pages), 2))
    assert results == {"same/index.html": False, "new/index.html": True, "new/deeper/index.html": True}
    for rel, written in results.items():
        writer.record(rel, written)
    stats = writer.commit()
    assert (stats.written, stats.unchanged, stats.removed) == (2, 1, 1)
    assert tree_bytes(out) == pages and (out / "same/index.html").stat().st_ino == inode


def _site(pages: int) -> dict[str, bytes]:
    """A site with a folder per page, as the real one has."""
    return {"index.html": b"home", **{f"2024/05/story-{n}/index.html": f"story {n}".encode() for n in range(pages)}}


def _identities(out: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``out`` by (inode, mtime), every folder by inode: what re-creating or rewriting one changes."""
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, 0 if p.is_dir() else p.stat().st_mtime_ns)
            for p in out.rglob("*")}


def test_a_small_change_is_made_in_place_touching_nothing_else(tmp_path: Path):
    out = tmp_path / "_site"
    old = _site(40)
    write(out, old)
    before, root = _identities(out), out.stat().st_ino
    new = {**old, "index.html": b"home, edited", "2024/06/new/index.html": b"new story"}
    del new["2024/05/story-7/index.html"]
    stats = write(out, new)
    assert (stats.written, stats.unchanged, stats.removed) == (2, 39, 1)
    assert tree_bytes(out) == new and out.stat().st_ino == root  # the same folder: nothing was swapped
    after = _identities(out)
    changed = {"index.html", "2024/06", "2024/06/new", "2024/06/new/index.html",
               "2024/05/story-7", "2024/05/story-7/index.html"}
    assert {rel: ident for rel, ident in after.items() if rel not in changed} == \
        {rel: ident for rel, ident in before.items() if rel not in changed}
    assert _siblings_once_settled(out) == SETTLED
    assert json.loads((tmp_path / "._site.files").read_text())["files"] == sorted(new)


def test_a_large_change_swaps_the_whole_tree_and_still_links_unchanged_files(tmp_path: Path):
    out = tmp_path / "_site"
    old = _site(20)
    write(out, old)
    root, inode = out.stat().st_ino, (out / "2024/05/story-3/index.html").stat().st_ino
    new = {rel: data + b" v2" for rel, data in old.items() if not rel.startswith("2024/05/story-3/")}
    new["2024/05/story-3/index.html"] = old["2024/05/story-3/index.html"]
    stats = write(out, new)
    assert (stats.written, stats.unchanged, stats.removed) == (20, 1, 0)
    assert tree_bytes(out) == new and out.stat().st_ino != root
    assert (out / "2024/05/story-3/index.html").stat().st_ino == inode
    assert _siblings_once_settled(out) == SETTLED


def test_files_and_folders_may_trade_places_in_place(tmp_path: Path):
    out = tmp_path / "_site"
    old = {**_site(40), "feed": b"a file", "about/index.html": b"a folder"}
    write(out, old)
    new = {**_site(40), "feed/index.html": b"now a folder", "about": b"now a file"}
    write(out, new)
    assert tree_bytes(out) == new and _siblings_once_settled(out) == SETTLED


def test_removed_files_are_found_without_a_record_by_walking_the_output(tmp_path: Path):
    out = tmp_path / "_site"
    old = _site(40)
    write(out, old)
    (tmp_path / "._site.files").unlink()
    new = {rel: data for rel, data in old.items() if rel != "2024/05/story-9/index.html"}
    assert write(out, new).removed == 1
    assert tree_bytes(out) == new and not (out / "2024/05/story-9").exists()
    assert _siblings_once_settled(out) == SETTLED


class Killed(BaseException):
    """Stands in for a kill: raised inside the writer's work, it skips all the writer had left to do
    (the pipeline still calls abort(), as on Ctrl-C; a test that calls the writer itself has no abort)."""


@pytest.mark.parametrize("killed_after", [0, 1, 2, 3])
def test_a_commit_killed_while_applying_its_journal_is_finished_by_the_next_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, killed_after: int
):
    out = tmp_path / "_site"
    old = _site(40)
    write(out, old)
    new = {**old, "index.html": b"home, edited", "2024/06/new/index.html": b"new story",
           "2024/05/story-1/index.html": b"story 1, edited"}
    del new["2024/05/story-7/index.html"]
    moves = 0
    real_replace = os.replace

    def replace_then_die(source, target):
        nonlocal moves
        if str(source).startswith(str(tmp_path / "._site.staging")):
            if moves == killed_after:
                raise Killed
            moves += 1
        real_replace(source, target)

    writer = SiteWriter(out)
    for rel, data in new.items():
        writer.add(rel, data)
    monkeypatch.setattr(os, "replace", replace_then_die)
    with pytest.raises(Killed):
        writer.commit()
    monkeypatch.setattr(os, "replace", real_replace)
    assert (tmp_path / "._site.journal").exists()
    half = tree_bytes(out)
    assert all(data in (old.get(rel), new.get(rel)) for rel, data in half.items())  # each file old or new, whole
    SiteWriter(out)  # any build starts with a writer
    assert tree_bytes(out) == new
    assert _siblings_once_settled(out) == SETTLED
    assert write(out, new).written == 0  # the record knows the new site: nothing is left to do


def test_rolling_a_journal_forward_twice_is_the_same_as_once(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, _site(40))
    staged = tmp_path / "._site.staging" / "2024/06/new/index.html"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"new story")
    journal = {"moves": ["2024/06/new/index.html"], "removals": ["2024/05/story-2/index.html"],
               "files": sorted(set(_site(40)) - {"2024/05/story-2/index.html"} | {"2024/06/new/index.html"})}
    (tmp_path / "._site.journal").write_text(json.dumps(journal))
    expected = {rel: data for rel, data in _site(40).items() if rel != "2024/05/story-2/index.html"}
    expected["2024/06/new/index.html"] = b"new story"
    output_module.recover(out)
    (tmp_path / "._site.journal").write_text(json.dumps(journal))  # as if killed before the journal was retired
    output_module.recover(out)
    assert tree_bytes(out) == expected and _siblings_once_settled(out) == SETTLED


def test_an_unreadable_journal_is_dropped_and_the_next_commit_walks_the_output(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, _site(40))
    (tmp_path / "._site.journal").write_text("{not json")
    (out / "stray.html").write_bytes(b"left by a half-applied commit")
    assert write(out, _site(40)).removed == 1
    assert tree_bytes(out) == _site(40) and _siblings_once_settled(out) == SETTLED


def test_a_swap_killed_between_its_renames_gets_the_previous_site_back(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, _site(5))
    os.rename(out, tmp_path / "._site.previous")
    (tmp_path / "._site.staging").mkdir()
    SiteWriter(out)
    assert tree_bytes(out) == _site(5)


def test_a_write_that_fails_before_the_commit_leaves_the_site_as_it_was(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, _site(40))
    before = _identities(out)
    writer = SiteWriter(out)
    writer.add("index.html", b"home, edited")
    writer.add("2024/06/new/index.html", b"new story")
    # killed here: no journal, so the next writer throws the staged files away
    SiteWriter(out)
    assert _identities(out) == before and _siblings_once_settled(out) == SETTLED


def test_source_is_the_staged_copy_until_the_commit(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, _site(40))
    writer = SiteWriter(out)
    writer.add("index.html", b"home, edited")
    writer.add("2024/05/story-1/index.html", b"story 1")
    assert writer.source("index.html").read_bytes() == b"home, edited"
    assert writer.source("index.html").parent == tmp_path / "._site.staging"
    assert writer.source("2024/05/story-1/index.html") == out / "2024/05/story-1/index.html"
    writer.commit()
    assert writer.source("index.html") == out / "index.html"


def _project(tmp_path: Path) -> BuildOptions:
    """A 60-article project without search (so an edit is committed in place), built once."""
    write_corpus(tmp_path / "content", 60)
    (tmp_path / "site.yaml").write_text("title: Test\nsearch: false\n")
    options = BuildOptions(content=tmp_path / "content", output=tmp_path / "_site", config=tmp_path / "site.yaml",
                           cache_dir=tmp_path / ".cache", jobs=1)
    build(options)
    return options


def _edit_one_article(options: BuildOptions) -> None:
    article = options.content / "000" / "000007.md"
    article.write_text(article.read_text().replace(' (synthetic)"', ' edited (synthetic)"', 1))


def _clean(options: BuildOptions) -> dict[str, bytes]:
    build(BuildOptions(content=options.content, output=options.output.with_name("clean"), config=options.config, jobs=1))
    return tree_bytes(options.output.with_name("clean"))


def test_a_build_stopped_while_rendering_an_edit_leaves_the_site_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    options = _project(tmp_path)
    before, before_root = _identities(options.output), options.output.stat().st_ino
    _edit_one_article(options)
    render = Renderer.render

    def render_then_die(self, page):
        if (tmp_path / "._site.staging").exists():  # the first changed page is staged: stop the build here
            raise Killed
        return render(self, page)

    monkeypatch.setattr(Renderer, "render", render_then_die)
    with pytest.raises(Killed):
        build(options)
    assert _identities(options.output) == before
    monkeypatch.setattr(Renderer, "render", render)
    result = build(options)
    assert 0 < result.stats.written < 20 and tree_bytes(options.output) == _clean(options)
    assert options.output.stat().st_ino == before_root  # committed in place


def test_a_build_killed_while_moving_files_into_place_is_finished_by_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    options = _project(tmp_path)
    _edit_one_article(options)
    real_replace = os.replace

    def replace_some_then_die(source, target, moves=[]):
        if str(source).startswith(str(tmp_path / "._site.staging")):
            if len(moves) == 2:
                raise Killed
            moves.append(source)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_some_then_die)
    with pytest.raises(Killed):
        build(options)
    monkeypatch.setattr(os, "replace", real_replace)
    assert (tmp_path / "._site.journal").exists()
    result = build(options)
    assert tree_bytes(options.output) == _clean(options) and not (tmp_path / "._site.journal").exists()
    assert result.rendered > 0  # the killed build recorded nothing in the cache: its pages were checked again


def test_a_record_of_another_tree_is_not_trusted(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, _site(40))
    os.rename(out, tmp_path / "elsewhere")  # another program (or an older version) puts a new tree there
    out.mkdir()
    (out / "stray.html").write_bytes(b"not ours")
    (out / "index.html").write_bytes(b"home")
    assert write(out, {"index.html": b"home"}).removed == 1
    assert tree_bytes(out) == {"index.html": b"home"}
