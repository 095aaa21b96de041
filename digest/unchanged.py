"""The no-change shortcut: when no input and no output file changed since the last build, stop early.

A rebuild on every commit (or every save) usually finds most pages unchanged, but proving it
page by page still costs the whole model and every fingerprint. This proves it for the whole
site at once, for the price of a walk over the inputs: every file that can change what the
build writes (every content, template and static file, the image cache's manifest), compared
by its stamp (size, mtime, ctime, inode: see :meth:`digest.content.Listing.settled`) or, when
it changed too recently for its stamp to vouch for its bytes, by the hash of its bytes, with
what the last successful build recorded; the generator, options and config compared by hash;
and the output folder compared file by file (size and mtime) with what that build left there.
Any difference, or no record, means a real build.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from . import cache
from .content import Listing, Problem, Stamp, collector_paused, settled, stamp

RECORD_FORMAT = 2

# Each input file by name: its stamp, and the hash of its bytes when the stamp cannot vouch for them yet.
Signature = tuple[Stamp | None, bytes | None]  # (None, None): a file that is missing


def _walk(folder: Path | str, prefix: str = "") -> Iterator[tuple[str, os.stat_result]]:
    """Every file under ``folder`` (sorted, as POSIX paths relative to it) with its stat.

    ``os.scandir`` rather than ``os.walk``: a site has a folder per page, and this runs on every build.
    """
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry.stat(follow_symlinks=False)


@dataclass(frozen=True)
class Inputs:
    """What a build reads, as it was when the build started."""

    settings: bytes  # a hash of the generator, the options and the config
    files: dict[str, Signature]
    paths: dict[str, str]  # where each file is, to hash it when a recorded signature asks for its bytes

    def same_as(self, recorded: LastBuild) -> bool:
        """Whether every input is as the record says: same settings, same files, each with the same
        stamp (recorded when it could vouch for the file's bytes) or the same bytes."""
        if self.settings != recorded.settings or self.files.keys() != recorded.inputs.keys():
            return False
        for name, (then, then_hash) in recorded.inputs.items():
            now, now_hash = self.files[name]
            if then_hash is None:
                if now != then:
                    return False
            elif (now_hash if now_hash is not None else _hash(self.paths[name])) != then_hash:
                return False
        return True


def snapshot(settings: object, content: Listing, theme_folders: Iterable[Path], extra_files: Iterable[Path]) -> Inputs:
    """The :class:`Inputs` of a build: ``settings`` (options and config, by value), every listed
    article file, every file in the theme folders and ``extra_files`` (missing ones count as absent).

    Files that changed in the last few seconds are read and hashed now, so the record holds what
    this build read, not what a later save left.
    """
    digest = hashlib.blake2b(cache.GENERATOR.encode(), digest_size=16)
    digest.update(pickle.dumps(settings, protocol=5))
    files: dict[str, Signature] = {}
    paths: dict[str, str] = {}

    def add(name: str, path: str, file_stamp: Stamp | None, vouched: bool) -> None:
        files[name] = (file_stamp, None if vouched else _hash(path))
        paths[name] = path

    for file in content.files:
        add(f"content:{file.rel}", file.path, file.stamp, file.settled)
    for folder in theme_folders:
        resolved = folder.resolve()
        for rel, stat in _walk(resolved):
            file_stamp = stamp(stat)
            add(f"theme:{resolved}:{rel}", f"{resolved}/{rel}", file_stamp, settled(file_stamp, content.listed_ns))
    for path in extra_files:
        try:
            file_stamp = stamp(path.stat())
        except OSError:
            add(f"extra:{path}", str(path), None, True)
        else:
            add(f"extra:{path}", str(path), file_stamp, settled(file_stamp, content.listed_ns))
    return Inputs(digest.digest(), files, paths)


def _hash(path: str) -> bytes:
    """The hash of a file's bytes; one that cannot be read gets a value no hash has."""
    try:
        with open(path, "rb") as handle:
            return cache.content_hash(handle.read())
    except OSError:
        return b"unreadable"


@dataclass(frozen=True)
class LastBuild:
    """What a successful build read and wrote: enough to answer the next build without running it."""

    settings: bytes
    inputs: dict[str, Signature]
    problems: tuple[Problem, ...]
    pages: int
    files: dict[str, tuple[int, int]]  # output path -> (size, mtime_ns) as the build left it

    @classmethod
    def of(cls, inputs: Inputs, problems: tuple[Problem, ...], pages: int, output: Path, files: Iterable[str],
           known: Mapping[str, tuple[bytes, int, int]], changed: Container[str] = (),
           previous: LastBuild | None = None) -> LastBuild | None:
        """The record of a build that left exactly ``files`` in ``output``. Only the files it wrote
        are looked up (``changed``, the others it kept as they were) and not even those in ``known``
        (the pages, as the build cache recorded them): a kept file keeps the size and mtime the
        ``previous`` record gave it. At 10,000 articles that saves 10,000 stat calls a build, the
        search index's files.

        ``previous`` is the record this build found, and only when the output was not found changed
        by hand (see the pipeline): if a kept file was changed since it was written, its recorded
        size and mtime are the old ones, so the next no-change check finds the output changed and
        builds for real, recording what is there; a stale entry never vouches for a file.
        None if a file is missing: then there is no record, and the next build is a real one.
        """
        earlier = previous.files if previous is not None else {}
        sizes: dict[str, tuple[int, int]] = {}
        for rel in files:
            entry = known.get(rel)
            if entry is not None:
                sizes[rel] = entry[1:]
                continue
            kept = earlier.get(rel) if rel not in changed else None
            if kept is None:
                try:
                    stat = os.stat(os.path.join(output, rel))
                except OSError:
                    return None
                kept = (stat.st_size, stat.st_mtime_ns)
            sizes[rel] = kept
        return cls(inputs.settings, inputs.files, problems, pages, sizes)

    def restamped(self, inputs: Inputs) -> LastBuild | None:
        """Once ``inputs.same_as(self)``: this record with the files it holds by the hash of their bytes
        held by their stamp instead, where that can now vouch for them, so the next check need not
        read them; None when there is no such file.

        Sound: their bytes were just found as recorded, after the stamp was taken; had they changed
        since the stamp, their ctime would have moved, and the next check would see a new stamp.
        """
        settled = {name: signature for name, signature in inputs.files.items()
                   if signature[1] is None and self.inputs[name][1] is not None}
        return replace(self, inputs=self.inputs | settled) if settled else None

    def output_intact(self, output: Path) -> bool:
        """The output folder holds exactly the files this build wrote, none touched since."""
        seen = 0
        try:
            for rel, stat in _walk(output):
                if self.files.get(rel) != (stat.st_size, stat.st_mtime_ns):
                    return False
                seen += 1
        except OSError:
            return False
        return seen == len(self.files) and seen > 0


def record_path(cache_dir: Path | None, content: Path, output: Path) -> Path | None:
    """The record of the last build of this content folder into this output folder (None: no cache)."""
    return None if cache_dir is None else cache.cache_file(cache_dir, "last", content, output)


_KEY = f"last:{RECORD_FORMAT}"


def load(path: Path | None) -> LastBuild | None:
    """The record, or None when there is none or it is from another version, truncated or corrupt."""
    payload = None if path is None else cache.read_blob(path, _KEY)
    try:
        with collector_paused():  # a tuple per input and output file, no cycle: the collector scanned them a dozen times
            record = pickle.loads(payload) if payload is not None else None
    except Exception:  # a payload that passed its checksum was written by this version: this is only a safety net
        return None
    return record if isinstance(record, LastBuild) else None


def save(path: Path | None, record: LastBuild | None) -> None:
    """Write atomically (or remove the record: a failed or partial build must not vouch for anything)."""
    if path is None:
        return
    if record is None:
        path.unlink(missing_ok=True)
        return
    cache.write_blob(path, _KEY, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
