"""The no-change shortcut: when no input and no output file changed since the last build, stop early.

A rebuild on every commit (or every save) usually finds most pages unchanged, but proving it
page by page still costs the whole model and every fingerprint. This proves it for the whole
site at once, for the price of reading the inputs: one hash over every byte that can change
what the build writes (the generator, the options, the config, every content, template and
static file, the image cache's catalog, the search binary), compared with the hash the last
successful build recorded, and the output folder compared file by file (size and mtime) with
what that build left there. Any difference, or no record, means a real build.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .content import Problem, find_article_files

RECORD_FORMAT = 1


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


def source_key(settings: object, content: Path, theme_folders: Iterable[Path], extra_files: Iterable[Path]) -> bytes:
    """A hash of everything a build reads: ``settings`` (options and config, by value), the bytes
    of every article file, of every file in the theme folders, and of ``extra_files`` (missing ones count as absent)."""
    digest = hashlib.blake2b(cache.GENERATOR.encode(), digest_size=16)
    digest.update(pickle.dumps(settings, protocol=5))
    paths, _ = find_article_files(content)
    for path in paths:
        _add_file(digest, f"content:{path}", path)
    for folder in theme_folders:
        for rel, _ in _walk(folder):
            _add_file(digest, f"theme:{folder.resolve()}:{rel}", folder / rel)
    for path in extra_files:
        _add_file(digest, f"extra:{path}", path)
    return digest.digest()


def _add_file(digest: hashlib.blake2b, name: str, path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    digest.update(f"{name}\0{-1 if data is None else len(data)}\0".encode())
    if data:
        digest.update(data)


@dataclass(frozen=True)
class LastBuild:
    """What a successful build read and wrote: enough to answer the next build without running it."""

    key: bytes
    problems: tuple[Problem, ...]
    pages: int
    files: dict[str, tuple[int, int]]  # output path -> (size, mtime_ns) as the build left it

    @classmethod
    def of(cls, key: bytes, problems: tuple[Problem, ...], pages: int, output: Path) -> LastBuild:
        files = {rel: (stat.st_size, stat.st_mtime_ns) for rel, stat in _walk(output)}
        return cls(key, problems, pages, files)

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


def load(path: Path | None) -> LastBuild | None:
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            version, record = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
        return None
    return record if version == (RECORD_FORMAT, cache.GENERATOR) and isinstance(record, LastBuild) else None


def save(path: Path | None, record: LastBuild | None) -> None:
    """Write atomically (or remove the record: a failed or partial build must not vouch for anything)."""
    if path is None:
        return
    if record is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        pickle.dump(((RECORD_FORMAT, cache.GENERATOR), record), handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)
