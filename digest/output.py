"""Write stage: put only the files whose bytes changed into the output, and never half a site.

Every file whose bytes differ from the current output is first written into a staging folder
beside it (``.<out>.staging``); an unchanged file is only noted, never read or copied, so it keeps
its modification time and a deploy sync sees only what changed. :meth:`SiteWriter.commit` then
puts the new site in place in one of two ways:

* **in place**, when the output exists and the changed and removed files are at most a quarter of
  the site (an edit, a new day's stories): a journal ``.<out>.journal`` listing every staged file
  to move and every file to remove is written and fsync'd, each staged file is renamed over its
  output path (``os.replace``: a reader sees the old file or the new one, never a mix), removed
  files and the folders they leave empty are deleted, and the journal becomes the record of the
  output's files. This costs what changed, not the size of the site.
* **swap** otherwise (a first build, a template edit that changes most pages): the unchanged files are hard-linked into the staging
  folder, which is renamed in place of the output in one step; the replaced site is renamed away
  and deleted in the background.

A build that fails or is killed before the journal is complete (or before the swap's rename)
leaves the previous site exactly as it was; the next writer discards the staging folder. A
build killed while it applies the journal leaves each file whole, some old and some new: the
next writer (every build starts with one) first rolls the journal forward, so the site is then
exactly the new one. The journal is fsync'd; the staged files are not, so this covers a killed
build, not a power cut.

The record of the output's files (``.<out>.files``) lets a commit find removed files without
walking the whole output (a folder per page: 12,000 folders at 10,000 articles); without a
record, or one written for another tree (it names the output folder's inode, which a program
that replaces the whole folder changes), it walks, and so it does when the caller knows the output
was changed by hand (the pipeline does when it finds the inputs unchanged but the output not as
the last build left it).
Otherwise a file that something else put into the output folder is not seen: an in-place commit
leaves it alone, a swap drops it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

# In place while changed + removed files are at most this share of the new site. Moving a
# changed file into place costs about what hard-linking an unchanged one into staging does (a
# rename and a folder against a link and a folder), so in place is cheaper up to about half; a
# swap also shows a large change to readers all at once, instead of over the seconds thousands
# of renames take, so large changes keep it.
IN_PLACE_SHARE = 0.25


class OutputError(Exception):
    """The output folder cannot be written safely (exit status 2)."""


@dataclass(frozen=True)
class WriteStats:
    written: int  # new or changed files
    unchanged: int
    removed: int


def check_output_dir(output: Path, protected: Iterable[Path]) -> None:
    """Refuse an output folder that is, or contains, the project's own sources."""
    out = output.resolve()
    if out == Path(out.anchor) or out == Path.home().resolve() or out == Path.cwd().resolve():
        raise OutputError(f"{output}: refusing to use this folder as the output folder")
    for path in protected:
        source = path.resolve()
        if source == out or source.is_relative_to(out) or out.is_relative_to(source):
            raise OutputError(f"{output}: the output folder must be apart from {path}")


@dataclass(frozen=True)
class _Paths:
    """The writer's files beside the output folder (hidden, named after it)."""

    output: Path
    staging: Path
    previous: Path  # the replaced tree, for a moment during a swap
    journal: Path
    record: Path  # the files of the output, as the last commit left it

    @classmethod
    def of(cls, output: Path) -> _Paths:
        beside = [output.with_name(f".{output.name}.{suffix}") for suffix in ("staging", "previous", "journal", "files")]
        return cls(output, *beside)


def recover(output: Path) -> None:
    """Put the output folder back in a whole state after a build killed while committing.

    A journal left by an in-place commit is rolled forward (every step is idempotent: a move
    whose staged file is gone was done already), and a swap killed between its two renames gets
    the previous site back. Then leftovers (staging, the swapped-out site, unfinished temporary
    files) are discarded.
    """
    paths = _Paths.of(output)
    if paths.journal.exists():
        _roll_forward(paths)
    if not output.exists() and paths.previous.is_dir():
        os.rename(paths.previous, output)
    for written in (paths.journal, paths.record):
        _temporary(written).unlink(missing_ok=True)
    for leftover in (paths.staging, paths.previous, *output.parent.glob(f".{output.name}.*.trash-*")):
        discard(leftover)


class Stager:
    """The file-system half of a :class:`SiteWriter`: puts files in its staging folder unless the
    output already holds their bytes.

    It keeps no record of what it staged, so forked render workers, threads (the search index's
    files) and the build's helper process can each stage files (in parallel, and without sending
    their bytes back); the writer then records each with :meth:`SiteWriter.record`, in any order.
    """

    def __init__(self, output: Path, staging: Path) -> None:
        self.output, self.staging = output, staging
        self._dirs: set[str] = set()  # staging folders known to exist

    def stage(self, rel_path: str, data: bytes) -> bool:
        """Write ``data`` into the staging folder unless the current output already holds these bytes; True if written."""
        if _same_bytes(os.path.join(self.output, rel_path), data):
            return False
        target = os.path.join(self.staging, rel_path)
        self.folder(os.path.dirname(target))
        with open(target, "wb") as handle:
            handle.write(data)
        return True

    def folder(self, folder: str) -> None:
        """Make sure a folder of the staging tree exists; others may be making it at the same time."""
        if folder in self._dirs:
            return
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
        self._dirs.add(folder)


class SiteWriter:
    """Collects the changed files of the new site in a staging folder; :meth:`commit` puts them in place.

    A rebuild that changes nothing touches nothing, and one that changes a few files creates,
    moves and removes only those (see the module docstring).
    """

    def __init__(self, output: Path, walk: bool = False) -> None:
        """``walk``: find the current output's files by walking it, not from the record (the caller
        knows that something else changed the output since the last commit)."""
        recover(output)
        self.output = output
        self._paths = _Paths.of(output)
        self.staging = self._paths.staging
        self.stager = Stager(output, self.staging)
        self.written = 0
        self.unchanged = 0
        self.paths: set[str] = set()  # every file of the new site
        self._new: set[str] = set()  # files staged in this build (new or changed bytes)
        self._kept: list[str] = []  # files carried over from the current output
        self._committed = False
        # the current output's files, as the last commit recorded them (None: walk it at commit time)
        self._recorded = None if walk else _recorded_files(self._paths)

    def add(self, rel_path: str, data: bytes) -> bool:
        """Stage one file; ``rel_path`` comes from the page plan, never from content. True if it changed."""
        written = self.stage(rel_path, data)
        self.record(rel_path, written)
        return written

    def stage(self, rel_path: str, data: bytes) -> bool:
        """The file-system half of :meth:`add` (see :class:`Stager`); True if written."""
        return self.stager.stage(rel_path, data)

    def record(self, rel_path: str, written: bool) -> None:
        """Account for a file :meth:`stage` handled: a new file in staging, or an unchanged one to keep."""
        if not written:
            self.keep(rel_path)
            return
        self.paths.add(rel_path)
        self._new.add(rel_path)
        self.written += 1

    def keep(self, rel_path: str) -> None:
        """Carry over a file of the current output that is known to be up to date, without reading it."""
        self.paths.add(rel_path)
        self._kept.append(rel_path)
        self.unchanged += 1

    def add_file(self, rel_path: str, source: Path) -> None:
        """Stage a file that never changes under its name (a content-hashed image variant).

        The previous build's copy is kept when its size matches, so a warm rebuild neither
        reads nor copies image bytes.
        """
        try:
            if (self.output / rel_path).stat().st_size == source.stat().st_size:
                self.keep(rel_path)
                return
        except OSError:
            pass
        shutil.copyfile(source, self._target(rel_path))
        self.record(rel_path, True)

    def source(self, rel_path: str) -> Path:
        """Where the new bytes of ``rel_path`` (a file added or kept in this build) are now: its
        staged copy when it was written in this build and is not committed yet, else the output's file
        (the search index reads the pages it indexes from here)."""
        if rel_path in self._new and not self._committed:
            return self.staging / rel_path
        return self.output / rel_path

    @property
    def changed(self) -> Collection[str]:
        """The files this build wrote (new or changed bytes); every other file of ``paths`` it kept as it was."""
        return self._new

    def keep_folder(self, folder: str) -> bool:
        """Carry over every file of ``folder`` in the current output as it is; False when there is none."""
        old = _files(self.output / folder)
        for rel in sorted(old):
            self.keep(f"{folder}/{rel}")
        return bool(old)

    def commit(self) -> WriteStats:
        """Put the new site in place, in place or by a swap (see the module docstring)."""
        previous = _files(self.output) if self._recorded is None else self._recorded
        removed = sorted(rel for rel in previous - self.paths if os.path.lexists(self.output / rel))
        exists = self.output.is_dir()
        if exists and not self._new and not removed:  # nothing differs: leave the output untouched
            self.abort()
            if not self._paths.record.exists():
                _write_record(self._paths, self.paths)  # so the next build need not walk the output
        elif exists and len(self._new) + len(removed) <= IN_PLACE_SHARE * len(self.paths):
            self._commit_in_place(removed)
        else:
            self._swap()
        self._committed = True
        return WriteStats(self.written, self.unchanged, len(removed))

    def abort(self) -> None:
        """Discard what was staged (the output is untouched until :meth:`commit` writes its journal;
        after a commit nothing is staged any more)."""
        if not self._committed and not self._paths.journal.exists():  # a commit interrupted while applying it: the next writer finishes it
            discard(self.staging)

    def _commit_in_place(self, removed: list[str]) -> None:
        """Write the journal, then apply it; from the moment it exists the new site is decided."""
        journal = {"moves": sorted(self._new), "removals": removed, "files": sorted(self.paths),
                   "folder": self.output.stat().st_ino}
        _write_atomically(self._paths.journal, json.dumps(journal).encode(), sync=True)
        _roll_forward(self._paths)

    def _swap(self) -> None:
        """Hard-link the unchanged files into staging and rename it in place of the output."""
        self.stager.folder(str(self.staging))  # a render worker may have made it already (see stage())
        for rel_path in self._kept:
            os.link(self.output / rel_path, self._target(rel_path))
        self._paths.record.unlink(missing_ok=True)  # describes the old tree until the new one is recorded
        if self.output.exists():
            os.rename(self.output, self._paths.previous)
        os.rename(self.staging, self.output)
        _write_record(self._paths, self.paths)
        discard(self._paths.previous)

    def _target(self, rel_path: str) -> Path:
        target = self.staging / rel_path
        self.stager.folder(str(target.parent))
        return target


def _roll_forward(paths: _Paths) -> None:
    """Apply the journal (again: each step is idempotent), then make it the record of the output's files.

    Removals go first, so that a file may become a folder or a folder a file. A journal that
    cannot be read (it is only ever replaced whole, so someone else wrote it) vouches for
    nothing: it is dropped with the record, and the next commit walks the output.
    """
    try:
        journal = json.loads(paths.journal.read_bytes())
        moves, removals = list(journal["moves"]), list(journal["removals"])
        if not all(isinstance(rel, str) for rel in moves + removals):
            raise TypeError("not a list of paths")
    except (ValueError, KeyError, TypeError):
        paths.record.unlink(missing_ok=True)
        paths.journal.unlink()
        return
    output = str(paths.output)
    for rel in removals:
        _remove(output, rel)
    for rel in moves:
        _move(str(paths.staging), output, rel)
    os.replace(paths.journal, paths.record)
    shutil.rmtree(paths.staging, ignore_errors=True)  # only the emptied folders of the moved files are left


def _remove(output: str, rel: str) -> None:
    """Delete a file of the old site, and the folders that leaves empty (nothing if it is gone)."""
    try:
        os.unlink(os.path.join(output, rel))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass  # removed already, or a folder by now (a roll-forward after its moves)
    folder = os.path.dirname(rel)
    while folder:
        try:
            os.rmdir(os.path.join(output, folder))
        except OSError:
            return  # not empty (or gone)
        folder = os.path.dirname(folder)


def _move(staging: str, output: str, rel: str) -> None:
    """Rename a staged file over its output path, making its folders; done already if it is gone."""
    source, target = os.path.join(staging, rel), os.path.join(output, rel)
    try:
        os.replace(source, target)
        return
    except FileNotFoundError:
        if not os.path.lexists(source):
            return
    except (IsADirectoryError, NotADirectoryError):
        pass
    _make_room(output, rel)
    os.replace(source, target)


def _make_room(output: str, rel: str) -> None:
    """Make ``rel``'s folders, replacing a file (not the site's: removals went first) in their way,
    and remove a folder where the file goes (none of the new site's files can be inside it)."""
    folder = output
    for part in rel.split("/")[:-1]:
        folder = os.path.join(folder, part)
        if os.path.lexists(folder) and not os.path.isdir(folder):
            os.unlink(folder)
        if not os.path.isdir(folder):
            os.mkdir(folder)
    target = os.path.join(output, rel)
    if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target)


def _recorded_files(paths: _Paths) -> set[str] | None:
    """The output's files as the last commit recorded them; None when there is no record, or the
    output folder is not the one it describes (another program, an older version of this one, put
    a new tree there)."""
    try:
        record = json.loads(paths.record.read_bytes())
        files, folder = record["files"], record["folder"]
        if folder != paths.output.stat().st_ino:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return set(files) if isinstance(files, list) and all(isinstance(rel, str) for rel in files) else None


def _write_record(paths: _Paths, files: Collection[str]) -> None:
    record = {"files": sorted(files), "folder": paths.output.stat().st_ino}
    _write_atomically(paths.record, json.dumps(record).encode(), sync=False)


def _temporary(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp")


def _write_atomically(path: Path, data: bytes, sync: bool) -> None:
    """Replace ``path`` whole; with ``sync``, on disk (the file and its folder's entry) before returning."""
    temporary = _temporary(path)
    with open(temporary, "wb") as handle:
        handle.write(data)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)
    if sync:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


_DELETERS: list[subprocess.Popen[bytes]] = []  # kept so they can be reaped; a build never waits for them


def discard(folder: Path) -> None:
    """Delete a folder without waiting: renamed out of the way at once, removed by a detached process.

    Removing a previous site of 20,000 files took 14 s of disk time here, for nothing any reader or
    the next build needs. The trash name is unique, so nothing ever sees it as a site; a deleter
    that was stopped leaves it for the next build's writer to discard again.
    """
    _DELETERS[:] = [process for process in _DELETERS if process.poll() is None]
    if not folder.exists():
        return
    trash = folder.with_name(f"{folder.name}.trash-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(folder, trash)
    except OSError:
        return  # another writer took it first
    _DELETERS.append(subprocess.Popen(
        [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(trash)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    ))


def _files(folder: Path) -> set[str]:
    """Every file under ``folder`` as a POSIX path relative to it (empty when it does not exist)."""
    found = set()
    for dirpath, _, filenames in os.walk(folder):
        prefix = Path(dirpath).relative_to(folder).as_posix()
        found.update(name if prefix == "." else f"{prefix}/{name}" for name in filenames)
    return found


def _same_bytes(path: str, data: bytes) -> bool:
    try:
        if os.stat(path).st_size != len(data):
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False
