"""Persistent build cache under ``.cache/``: what the last build parsed and wrote, so the next does less.

Three tables, all safe to lose (deleting ``.cache/`` only makes the next build a full one):

* parsed articles, keyed by the file's path, with the hash of its bytes and its stamp, so an
  unchanged file is neither parsed nor even read again; saved in 64 shards by path, so a build
  rewrites only the shards whose files changed;
* per output file, the fingerprint of everything its bytes were made from (the page's recipe
  and its inputs, the templates it uses, the config, the generator) plus the size and mtime the file
  had when written, so a page is rendered again only when one of those changed and a file
  someone touched in the output folder is never trusted; saved (with ``marshal``: plain tuples)
  only when one changed;
* the memos of the last site model (``site.Memos``, plain tuples as well, one file each): its
  related-story matching (``similar.Memo``), the similar pairs of its story clustering
  (``clusters.Memo``) and each title's slug and words (``site.TitleMemo``), so the next one
  computes again only what an edit can affect.

Each cache file carries the generator and key it is valid for and a checksum of its contents:
one from another version, truncated or corrupt is ignored. The whole cache is invalidated by a
new generator version or by a change to the generator's own source (or a new Python), because
either can change what the same input renders to.
"""

from __future__ import annotations

import functools
import hashlib
import io
import marshal
import os
import pickle
import struct
import sys
import weakref
import zlib
from collections.abc import Callable, Collection, Container, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import __version__, clusters, similar
from .content import (RECORD_PICKLING, Parsed, Parser, Problem, SourceFile, Stamp, collector_paused, parse_articles,
                      read_source)
from .model import Article, dataclass_reducers, fields_getter
from .site import Memos, TitleMemo

CACHE_FORMAT = 2
_PACKAGE = Path(__file__).resolve().parent


def _generator_digest() -> str:
    """The version plus a hash of the generator's own source: editing a filter invalidates pages."""
    digest = hashlib.blake2b(f"{CACHE_FORMAT}:{__version__}:{sys.version}".encode(), digest_size=16)
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


GENERATOR = _generator_digest()


def cache_file(cache_dir: Path, kind: str, content: Path, output: Path) -> Path:
    """The cache file of one kind for one content folder built into one output folder."""
    pair = hashlib.blake2b(os.fsencode(f"{content.resolve()}\0{output.resolve()}"), digest_size=8).hexdigest()
    return cache_dir / f"{kind}-{pair}"


def content_hash(data: bytes | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class Fingerprinter:
    """Hashes plain data (dataclasses, tuples, dicts, str, datetimes) by value, in linear time.

    Pickle in fast mode keeps no memo, so equal values give equal bytes whether or not they
    share objects; a value pickle cannot handle raises, it never collides. Each dataclass
    instance inside a value (a Post, a Topic with its thousands of posts) is hashed once per
    build and then stands in by its 16-byte digest, so a topic page costs its size, not its topic's.
    Pickle asks the pickler's ``dispatch_table`` only about objects that are not strings, numbers
    or containers (the bulk of a page's inputs), so only the objects that may stand in by a
    digest cost a Python call.
    """

    def __init__(self, inline: Collection[type] = ()) -> None:
        """``inline``: classes whose instances are hashed with the value that holds them instead of
        standing in by their own digest, which saves work for objects that only one page shows."""
        # id -> (the object, kept alive; what pickles in its place: a call of Fingerprinter with its digest)
        self._memo: dict[int, tuple[object, tuple[type, tuple[bytes]]]] = {}
        self._reducers = _Reducers(self, frozenset(inline))
        # One pickler per nesting level of _digest (a page, then a post inside it, ...), reused:
        # making one costs more than a small dump.
        self._picklers: list[_Pickler] = []
        self._depth = 0

    def __call__(self, *parts: Any) -> bytes:
        return self._digest(parts)

    def _digest(self, value: Any) -> bytes:
        depth = self._depth
        if depth == len(self._picklers):
            self._picklers.append(_Pickler(self._reducers))
        pickler = self._picklers[depth]
        sink = pickler.sink
        sink.digest = hashlib.blake2b(digest_size=16)
        self._depth = depth + 1
        try:
            pickler.dump(value)
        finally:
            self._depth = depth
        return sink.digest.digest()

    def seed(self, obj: Any, digest: bytes) -> None:
        """Vouch for an object's digest without hashing it (an article: the hash of its file's bytes)."""
        self._memo[id(obj)] = (obj, (Fingerprinter, (digest,)))


class _Reducers(dict[type, Callable[[Any], tuple[Any, ...]]]):
    """The pickler's ``dispatch_table``: for each class whose instances stand in by their digest,
    a function that hashes an instance once and then returns the stand-in. Filled as classes show
    up; a class it does not know (KeyError) is pickled as usual."""

    def __init__(self, owner: Fingerprinter, inline: frozenset[type]) -> None:
        super().__init__()
        # A weak reference: the owner holds this table, and a cycle would keep its memo (every object
        # it hashed: a whole site model) alive after the build until a full collection, which a
        # long-running preview may not run for many builds (40 MiB a build at 10,000 articles).
        self.owner = weakref.proxy(owner)
        self.inline = inline

    def __missing__(self, cls: type) -> Callable[[Any], tuple[Any, ...]]:
        if cls is Markup:  # a str subclass (JSON-LD): pickled as the text, without its class's reduce protocol
            self[cls] = _text
            return _text
        getter = _state_getter(cls)
        if getter is None:
            raise KeyError(cls)
        owner, memo, name = self.owner, self.owner._memo, (cls.__module__, cls.__qualname__)

        def digest_of(value: Any) -> bytes:  # through the proxy: a bound method would hold the owner
            return owner._digest(value)

        # Written as a call of Fingerprinter with the digest (or with the class's name and the
        # fields): no value pickles that way, so a stand-in never equals anything else.
        def reduce(obj: Any) -> tuple[Any, ...]:
            hit = memo.get(id(obj))
            if hit is None:
                hit = memo[id(obj)] = (obj, (Fingerprinter, (digest_of((name, getter(obj))),)))
            return hit[1]

        def inline(obj: Any) -> tuple[Any, ...]:
            hit = memo.get(id(obj))  # a seeded object still stands in by its seed
            return (Fingerprinter, (name, getter(obj))) if hit is None else hit[1]

        self[cls] = inline if cls in self.inline else reduce
        return self[cls]


def _text(markup: Markup) -> tuple[Any, ...]:
    return (Markup, (str(markup),))


@functools.cache
def _state_getter(cls: type) -> Callable[[Any], Any] | None:
    """How to read an immutable value that may stand in by its digest: a dataclass by its fields,
    a date, time or time zone by its pickled state (an article's date shows up on many pages and
    costs half a dozen pickle calls); None for anything else."""
    if cls in (datetime, date, timedelta, timezone):
        return lambda obj: obj.__reduce__()
    return fields_getter(cls)


class _HashSink:
    """A write-only file that hashes what pickle writes, so no big bytes object is ever built."""

    def __init__(self) -> None:
        self.digest = hashlib.blake2b(digest_size=16)

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


# Classes a stand-in or a datetime's state names. Pickle looks each class up by module and name
# whenever it writes it (an import call), unless the class is in the pickler's memo: then it writes a
# two-byte reference. Fast mode adds nothing to the memo, so these stay the only references, and
# the bytes still follow values.
_PRELOADED = (Fingerprinter, Markup, datetime, date, timezone, timedelta)


class _Pickler(pickle.Pickler):
    def __init__(self, reducers: _Reducers) -> None:
        self.sink = _HashSink()
        super().__init__(self.sink, protocol=5)
        self.fast = True  # no memo: the bytes follow values, not object identity
        self.dispatch_table = reducers
        self.memo = {id(cls): (index, cls) for index, cls in enumerate(_PRELOADED)}


@dataclass(frozen=True, slots=True)
class ParsedFile:
    digest: bytes  # content_hash of the file's path and bytes: what its article stands in by in fingerprints
    stamp: Stamp | None  # the file's stamp, when it could vouch for these bytes (see Listing.settled)
    article: Article | None
    problems: tuple[Problem, ...]


_SAVE_TABLE = RECORD_PICKLING | dataclass_reducers(ParsedFile)
SHARDS = 64  # parsed articles are saved in this many files, so an edit rewrites one of them
MEMOS = {"related": similar.Memo, "clusters": clusters.Memo, "titles": TitleMemo}  # each field of Memos: its file is named after it


def _shard(source: str) -> int:
    return zlib.crc32(os.fsencode(source)) % SHARDS  # fsencode: a file name need not be UTF-8


@dataclass
class BuildCache:
    """What the last successful build of one content folder into one output folder knew."""

    folder: Path | None  # the cache files of this content/output pair
    key: str  # what else the parsed articles depend on (the time zone)
    parsed: dict[str, ParsedFile] = field(default_factory=dict)
    # output path -> (fingerprint, size, mtime_ns): the page's fingerprint and the file it was written to
    outputs: dict[str, tuple[bytes, int, int]] = field(default_factory=dict)
    memos: Memos = field(default_factory=Memos)  # the last site model's (Site.memos)
    reparsed: set[str] = field(default_factory=set)  # files parsed (not taken from the cache) in this build
    _dirty: set[int] = field(default_factory=set, repr=False)  # shards of ``parsed`` that changed
    _saved_outputs: dict[str, tuple[bytes, int, int]] | None = field(default=None, repr=False)
    _saved_memos: Memos = field(default_factory=Memos, repr=False)
    _output: tuple[Path, int, weakref.finalize] | None = field(default=None, repr=False)  # see _output_handle
    _outputs_checksum: int | None = field(default=None, repr=False)  # of the pages table loaded (see trust)
    _changed_outputs: frozenset[str] | None = field(default=None, repr=False)  # see trust

    @classmethod
    def open(cls, cache_dir: Path | None, content: Path, output: Path, parse_key: str) -> BuildCache:
        """The cache for this content/output pair; empty where missing, unreadable or from another version.

        A shard that cannot be used costs only the parsing of its files again.
        """
        if cache_dir is None:
            return cls(None, parse_key)
        cache = cls(cache_file(cache_dir, "build", content, output), parse_key)
        with collector_paused():  # some 100,000 records, and no cycle among them
            for shard in range(SHARDS):
                entries = _load(cache.folder / f"articles-{shard:02x}", parse_key, pickle.loads)
                if isinstance(entries, dict):
                    cache.parsed.update(entries)
            outputs, cache._outputs_checksum = _load_table(cache.folder / "pages", parse_key)
            memos = {name: kind.from_plain(_load(cache.folder / name, parse_key, marshal.loads))
                     for name, kind in MEMOS.items()}
            cache.memos = cache._saved_memos = Memos(**memos)
        if isinstance(outputs, dict):
            cache.outputs = cache._saved_outputs = outputs
        return cache

    def parser(self, tz: tzinfo, jobs: int = 1) -> Parser:
        """A :data:`~digest.content.Parser` that reads only files whose stamp it cannot vouch for and
        parses (on ``jobs`` workers) only files whose bytes it has not seen.

        Files that were not asked for again (deleted or renamed) drop out of the saved cache.
        """
        previous, self.parsed = self.parsed, {}

        def parse(files: Sequence[SourceFile]) -> list[Parsed]:
            results: list[Parsed] = [(None, [])] * len(files)
            todo: list[tuple[int, SourceFile, bytes, bytes]] = []  # index, file, bytes, digest
            for index, file in enumerate(files):
                entry = previous.get(file.rel)
                if entry is None or entry.stamp != file.stamp:
                    data = read_source(file)
                    if isinstance(data, Problem):
                        results[index] = (None, [data])
                        continue
                    digest = content_hash(os.fsencode(file.rel) + b"\0" + data)
                    if entry is None or entry.digest != digest:
                        todo.append((index, file, data, digest))
                        continue
                    if entry.stamp != (stamp := file.stamp if file.settled else None):
                        entry = replace(entry, stamp=stamp)  # its shard is saved again, to skip reading it next time
                self.parsed[file.rel] = entry
                results[index] = (entry.article, list(entry.problems))
            fresh = parse_articles([(file.rel, data) for _, file, data, _ in todo], tz, jobs)
            for (index, file, _, digest), (article, problems) in zip(todo, fresh):
                self.parsed[file.rel] = ParsedFile(digest, file.stamp if file.settled else None, article, tuple(problems))
                results[index] = (article, problems)
            self.reparsed.update(file.rel for _, file, _, _ in todo)
            self._dirty.update(_shard(source) for source, entry in self.parsed.items() if previous.get(source) is not entry)
            self._dirty.update(_shard(source) for source in previous.keys() - self.parsed.keys())
            return results

        return parse

    def current(self, rel_path: str, fingerprint: bytes, output: Path) -> bool:
        """Whether the output file ``rel_path`` was made from this fingerprint and nobody has changed
        or removed it since (its size and mtime are those it was written with)."""
        entry = self.outputs.get(rel_path)
        if entry is None or entry[0] != fingerprint:
            return False
        if self._changed_outputs is not None:
            return rel_path not in self._changed_outputs
        return _as_recorded(self._output_handle(output), rel_path, entry)

    def _output_handle(self, output: Path) -> int:
        """A handle on the output folder, opened on the first check: each page's file is then stat'ed
        by its path in the folder, not walked to from the root (12,037 checks at 10,000 articles
        46 -> 36 ms). Closed by :meth:`record`, once the new output is in place (a commit may put
        a new folder there), or when the cache is dropped."""
        held = self._output
        if held is None or (held[0] is not output and held[0] != output):  # (the same Path object, as a rule)
            self._close_output()
            handle = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
            self._output = (output, handle, weakref.finalize(self, os.close, handle))
        return self._output[1]

    def _close_output(self) -> None:
        if self._output is not None:
            self._output[2]()  # closes the handle, once: the finalizer is then spent
            self._output = None

    def trust(self, check: OutputCheck | None) -> None:
        """Take the output files' sizes and mtimes from ``check`` (see :func:`check_outputs`) instead of
        stat'ing each in :meth:`current`, if it checked the pages table this cache loaded."""
        if check is not None and self._outputs_checksum is not None and check.table == self._outputs_checksum:
            self._changed_outputs = check.changed

    def record(self, output: Path, fingerprints: dict[str, bytes], kept: Container[str]) -> None:
        """After a successful build: each page's fingerprint with the size and mtime its file now has.

        Called only once the new output is in place, so the cache never vouches for a page
        that a failed or interrupted build did not finish writing. A page carried over unrendered
        (``kept``) keeps its entry: its file was checked against it and left as it was.
        """
        self._close_output()
        self._changed_outputs = None  # it answered for the table it was given, which this replaces
        previous, outputs = self.outputs, {}
        for rel_path, print_ in fingerprints.items():
            entry = previous.get(rel_path) if rel_path in kept else None
            if entry is None:
                stat = os.stat(os.path.join(output, rel_path))
                entry = (print_, stat.st_size, stat.st_mtime_ns)
            outputs[rel_path] = entry
        self.outputs = outputs

    def seed(self, fingerprint: Fingerprinter) -> None:
        """Let each parsed article stand in by the hash of its source and bytes, which determine it."""
        for entry in self.parsed.values():
            if entry.article is not None:
                fingerprint.seed(entry.article, entry.digest)

    def save(self) -> None:
        """Write what changed: the shards of parsed articles with a new, changed or dropped file,
        and the page fingerprints and each memo of the site model unless they are as they were. Each file is
        written atomically: a build killed while saving leaves each as it was (or none), never half of one."""
        if self.folder is None:
            return
        self.save_sources()
        if self.outputs != self._saved_outputs:
            write_blob(self.folder / "pages", self.key, marshal.dumps(self.outputs))
            self._saved_outputs = self.outputs

    def save_sources(self) -> None:
        """The part of :meth:`save` that does not describe the output: the parsed articles and the
        memos, facts about the content that hold whatever becomes of this build, which can save
        them while it waits for something else (the search index)."""
        if self.folder is None:
            return
        if self._dirty:
            shards: dict[int, dict[str, ParsedFile]] = {shard: {} for shard in self._dirty}
            for source, entry in self.parsed.items():
                shard = shards.get(_shard(source))
                if shard is not None:
                    shard[source] = entry
            for number, entries in sorted(shards.items()):
                buffer = io.BytesIO()
                pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
                pickler.dispatch_table = _SAVE_TABLE
                pickler.dump(entries)
                write_blob(self.folder / f"articles-{number:02x}", self.key, buffer.getvalue())
            self._dirty.clear()
        for name in MEMOS:
            memo = getattr(self.memos, name)
            if memo is not None and memo != getattr(self._saved_memos, name):
                write_blob(self.folder / name, self.key, marshal.dumps(memo.to_plain()))
                self._saved_memos = replace(self._saved_memos, **{name: memo})


@dataclass(frozen=True)
class OutputCheck:
    """Which output files the last build recorded (its pages table) are no longer as it left them."""

    table: int  # the CRC-32 of the pages table checked: BuildCache.trust takes the answer only for that table
    changed: frozenset[str]  # recorded files gone, or whose size or mtime is not the recorded one


def check_outputs(cache_dir: Path, content: Path, output: Path, key: str) -> OutputCheck | None:
    """Stat every output file the last build of ``content`` into ``output`` recorded; None when it
    recorded none. For a helper process (see ``workers.Helper``): on an edit, most pages are carried
    over, and checking their files one by one in :meth:`BuildCache.current` was 0.045 s of the build's
    own core at 10,000 articles, while the other core had nothing to do."""
    outputs, checksum = _load_table(cache_file(cache_dir, "build", content, output) / "pages", key)
    if not isinstance(outputs, dict) or checksum is None:
        return None
    try:
        handle = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return OutputCheck(checksum, frozenset(outputs))
    try:
        changed = frozenset(rel_path for rel_path, entry in outputs.items() if not _as_recorded(handle, rel_path, entry))
    except (TypeError, ValueError):  # not a table this version wrote: BuildCache.open ignores it too
        return None
    finally:
        os.close(handle)
    return OutputCheck(checksum, changed)


def _as_recorded(folder: int, rel_path: str, entry: tuple[bytes, int, int]) -> bool:
    """Whether the file ``rel_path`` in the folder open as ``folder`` has the size and mtime its
    pages-table ``entry`` (fingerprint, size, mtime) recorded; False when it is gone."""
    try:
        stat = os.stat(rel_path, dir_fd=folder)
    except OSError:
        return False
    return (stat.st_size, stat.st_mtime_ns) == entry[1:]


_MAGIC = b"digest build cache\n"
# After the magic and the key digest: the payload's length and CRC-32. A checksum against damage
# (a truncated or half-written file, a flipped bit), not against forgery: whoever can write the
# cache can write a valid checksum of any kind. CRC-32 reads 12 MB of parsed articles in 2 ms,
# where blake2b took 9 ms on every build; the length makes a truncation certain to be seen.
_CHECK = struct.Struct("<QI")


def _key_digest(key: str) -> bytes:
    return hashlib.blake2b(f"{GENERATOR}\0{key}".encode(), digest_size=16).digest()


def write_blob(path: Path, key: str, payload: bytes) -> None:
    """Write ``payload`` atomically, with the generator and ``key`` it is valid for and its checksum."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(_MAGIC + _key_digest(key) + _CHECK.pack(len(payload), zlib.crc32(payload)))
        handle.write(payload)
    os.replace(temporary, path)


def read_blob(path: Path, key: str) -> memoryview | None:
    """What :func:`write_blob` wrote for this generator and ``key``; None when the file is missing,
    from another version or key, truncated or corrupt, so a damaged cache is ignored, never used."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    head = _MAGIC + _key_digest(key)
    start = len(head) + _CHECK.size
    if not data.startswith(head) or len(data) < start:
        return None
    size, checksum = _CHECK.unpack_from(data, len(head))
    payload = memoryview(data)[start:]
    return payload if len(payload) == size and zlib.crc32(payload) == checksum else None


def _load(path: Path, key: str, loads: Callable[[memoryview], Any]) -> Any:
    payload = read_blob(path, key)
    try:
        return None if payload is None else loads(payload)
    except Exception:  # a payload that passed its checksum was written by this version: only a safety net
        return None


def _load_table(path: Path, key: str) -> tuple[Any, int | None]:
    """The pages table (see BuildCache.outputs) at ``path``, and the CRC-32 of its bytes; (None, None)
    when it cannot be used."""
    payload = read_blob(path, key)
    try:
        return (None, None) if payload is None else (marshal.loads(payload), zlib.crc32(payload))
    except Exception:  # as in _load
        return None, None
