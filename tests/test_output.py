"""Write stage: swap in atomically, remove stale pages, keep unchanged files, refuse dangerous folders."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

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
    assert _siblings_once_settled(out) == ["_site"]


def test_the_replaced_site_is_deleted_without_the_build_waiting_for_it(tmp_path: Path):
    out = tmp_path / "_site"
    write(out, {f"page{n}/index.html": b"old" for n in range(300)})
    write(out, {"index.html": b"new"})
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["index.html"]
    assert _siblings_once_settled(out) == ["_site"]  # the old tree went away in the background


def _siblings_once_settled(out: Path, timeout: float = 30.0) -> list[str]:
    """What is beside the output folder once background deletions have finished (or the time is up)."""
    deadline = time.monotonic() + timeout
    while len(names := sorted(p.name for p in out.parent.iterdir())) > 1 and time.monotonic() < deadline:
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
