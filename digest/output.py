"""Write stage: stage the new site beside the old one, then swap it in.

A build that fails or is killed before the swap leaves the previous site exactly as
it was; the replaced site is renamed away and deleted in the background. Files whose bytes did not change are hard-linked from the previous build, so
they keep their modification time and a deploy sync sees only what changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


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


class SiteWriter:
    """Collects the new site in a staging folder; :meth:`commit` swaps it in atomically.

    Staging starts lazily, at the first file whose bytes differ from the current output:
    a rebuild that changes nothing touches nothing, and one that does starts by hard-linking
    the files it has already found unchanged.
    """

    def __init__(self, output: Path) -> None:
        self.output = output
        self.staging = output.with_name(f".{output.name}.staging")
        self.previous = output.with_name(f".{output.name}.previous")
        self.written = 0
        self.unchanged = 0
        self.paths: set[str] = set()
        self._changed: set[str] = set()  # files this build wrote into staging
        self._pending: list[str] = []  # unchanged files not yet linked into staging
        self._staged = False
        self._dirs: set[str] = set()  # staging folders known to exist
        for leftover in (self.staging, self.previous, *output.parent.glob(f".{output.name}.*.trash-*")):
            discard(leftover)

    def add(self, rel_path: str, data: bytes) -> bool:
        """Stage one file; ``rel_path`` comes from the page plan, never from content. True if it changed."""
        written = self.stage(rel_path, data)
        self.record(rel_path, written)
        return written

    def stage(self, rel_path: str, data: bytes) -> bool:
        """The file-system half of :meth:`add`: write ``data`` into the staging folder unless the
        current output already holds these bytes; True if written.

        It changes no bookkeeping, so a forked render worker can call it and write its pages itself
        (in parallel, and without sending their bytes back); the parent then calls :meth:`record`
        with the answer, in any order.
        """
        if _same_bytes(os.path.join(self.output, rel_path), data):
            return False
        target = os.path.join(self.staging, rel_path)
        self._folder(os.path.dirname(target))
        with open(target, "wb") as handle:
            handle.write(data)
        return True

    def record(self, rel_path: str, written: bool) -> None:
        """Account for a file :meth:`stage` handled: a new file in staging, or an unchanged one to keep."""
        if not written:
            self.keep(rel_path)
            return
        self._start_staging()
        self.paths.add(rel_path)
        self._changed.add(rel_path)
        self.written += 1

    def source(self, rel_path: str) -> Path:
        """Where the new bytes of a recorded file are: the staged file if this build wrote it, else
        the output's own file (the search index reads its pages from here, before the swap)."""
        return (self.staging if rel_path in self._changed else self.output) / rel_path

    def keep(self, rel_path: str) -> None:
        """Carry over a file of the current output that is known to be up to date, without reading it."""
        self.paths.add(rel_path)
        self.unchanged += 1
        if self._staged:
            os.link(self.output / rel_path, self._target(rel_path))
        else:
            self._pending.append(rel_path)

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
        self._start_staging()
        self.paths.add(rel_path)
        self._changed.add(rel_path)
        shutil.copyfile(source, self._target(rel_path))
        self.written += 1

    def keep_folder(self, folder: str) -> bool:
        """Carry over every file of ``folder`` in the current output as it is; False when there is none."""
        old = _files(self.output / folder)
        for rel in sorted(old):
            self.keep(f"{folder}/{rel}")
        return bool(old)

    def commit(self) -> WriteStats:
        """Swap the staged site in; the old one is deleted only after the new one is in place."""
        old_files = _files(self.output)
        removed = len(old_files - self.paths)
        if not self._staged and not removed and self.output.is_dir():
            return WriteStats(0, self.unchanged, 0)  # nothing differs: leave the output untouched
        self._start_staging()
        if self.output.exists():
            os.rename(self.output, self.previous)
        os.rename(self.staging, self.output)
        discard(self.previous)
        return WriteStats(self.written, self.unchanged, removed)

    def abort(self) -> None:
        discard(self.staging)

    def _start_staging(self) -> None:
        if self._staged:
            return
        self._staged = True
        self._folder(str(self.staging))  # a render worker may have made it already (see stage())
        for rel_path in self._pending:
            os.link(self.output / rel_path, self._target(rel_path))
        self._pending = []

    def _target(self, rel_path: str) -> Path:
        target = self.staging / rel_path
        self._folder(str(target.parent))
        return target

    def _folder(self, folder: str) -> None:
        """Make sure a folder of the staging tree exists; render workers may be making it at the same time."""
        if folder in self._dirs:
            return
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
        self._dirs.add(folder)


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
