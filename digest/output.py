"""Write stage: stage the new site beside the old one, then swap it in.

A build that fails or is killed before the swap leaves the previous site exactly as
it was. Files whose bytes did not change are hard-linked from the previous build, so
they keep their modification time and a deploy sync sees only what changed.
"""

from __future__ import annotations

import os
import shutil
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
    """Collects the new site in a staging folder; :meth:`commit` swaps it in atomically."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.staging = output.with_name(f".{output.name}.staging")
        self.previous = output.with_name(f".{output.name}.previous")
        self.written = 0
        self.unchanged = 0
        for leftover in (self.staging, self.previous):
            shutil.rmtree(leftover, ignore_errors=True)
        self.staging.mkdir(parents=True)

    def add(self, rel_path: str, data: bytes) -> None:
        """Stage one file; ``rel_path`` comes from the page plan, never from content."""
        target = self.staging / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        old = self.output / rel_path
        if _same_bytes(old, data):
            os.link(old, target)
            self.unchanged += 1
        else:
            target.write_bytes(data)
            self.written += 1

    def add_file(self, rel_path: str, source: Path) -> None:
        """Stage a file that never changes under its name (a content-hashed image variant).

        The previous build's copy is linked when its size matches, so a warm rebuild neither
        reads nor copies image bytes.
        """
        target = self.staging / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        old = self.output / rel_path
        try:
            if old.stat().st_size == source.stat().st_size:
                os.link(old, target)
                self.unchanged += 1
                return
        except OSError:
            pass
        shutil.copyfile(source, target)
        self.written += 1

    def commit(self) -> WriteStats:
        """Swap the staged site in; the old one is deleted only after the new one is in place."""
        removed = 0
        if self.output.exists():
            new_files = {p.relative_to(self.staging) for p in self.staging.rglob("*") if p.is_file()}
            removed = sum(1 for p in self.output.rglob("*") if p.is_file() and p.relative_to(self.output) not in new_files)
            os.rename(self.output, self.previous)
        os.rename(self.staging, self.output)
        shutil.rmtree(self.previous, ignore_errors=True)
        return WriteStats(self.written, self.unchanged, removed)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False
