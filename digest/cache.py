"""Persistent build cache under ``.cache/``: what the last build parsed and wrote, so the next does less.

Two tables, both safe to lose (deleting ``.cache/`` only makes the next build a full one):

* parsed articles, keyed by the file's path and the hash of its bytes, so an unchanged file
  is never parsed twice;
* per output file, the fingerprint of everything its bytes were made from (the page's exact
  context, the templates it uses, the config, the generator) plus the size and mtime the file
  had when written, so a page is rendered again only when one of those changed and a file
  someone touched in the output folder is never trusted.

The whole cache is invalidated by a new generator version or by a change to the generator's
own source, because either can change what the same input renders to.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import __version__
from .content import Parsed, Parser, Problem, parse_articles
from .model import Article, Image, Provider, Story, dataclass_reducers, fields_getter

CACHE_FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent


def _generator_digest() -> str:
    """The version plus a hash of the generator's own source: editing a filter invalidates pages."""
    digest = hashlib.blake2b(f"{CACHE_FORMAT}:{__version__}".encode(), digest_size=16)
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


GENERATOR = _generator_digest()


def cache_file(cache_dir: Path, kind: str, content: Path, output: Path) -> Path:
    """The cache file of one kind for one content folder built into one output folder."""
    pair = hashlib.blake2b(f"{content.resolve()}\0{output.resolve()}".encode(), digest_size=8).hexdigest()
    return cache_dir / f"{kind}-{pair}.pickle"


def content_hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class Fingerprinter:
    """Hashes plain data (dataclasses, tuples, dicts, str, datetimes) by value, in linear time.

    Pickle in fast mode keeps no memo, so equal values give equal bytes whether or not they
    share objects; a value pickle cannot handle raises, it never collides. Each dataclass
    instance inside a value (a Post, a Topic with its thousands of posts) is hashed once per
    build and then stands in by its 16-byte digest, so a topic page costs its size, not its topic's.
    Pickle asks the pickler's ``dispatch_table`` only about objects that are not strings, numbers
    or containers (the bulk of a page context), so only the objects that may stand in by a
    digest cost a Python call.
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[object, bytes]] = {}  # id -> (the object, kept alive; its digest)
        self._reducers = _Reducers(self)
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
        self._memo[id(obj)] = (obj, digest)


class _Reducers(dict[type, Callable[[Any], tuple[Any, ...]]]):
    """The pickler's ``dispatch_table``: for each class whose instances stand in by their digest,
    a function that hashes an instance once and then returns the stand-in. Filled as classes show
    up; a class it does not know (KeyError) is pickled as usual."""

    def __init__(self, owner: Fingerprinter) -> None:
        super().__init__()
        self.owner = owner

    def __missing__(self, cls: type) -> Callable[[Any], tuple[Any, ...]]:
        if cls is Markup:  # a str subclass (JSON-LD): pickled as the text, without its class's reduce protocol
            self[cls] = _text
            return _text
        getter = _state_getter(cls)
        if getter is None:
            raise KeyError(cls)
        memo, digest_of, name = self.owner._memo, self.owner._digest, (cls.__module__, cls.__qualname__)

        def reduce(obj: Any) -> tuple[Any, ...]:
            hit = memo.get(id(obj))
            if hit is None:
                hit = memo[id(obj)] = (obj, digest_of((name, getter(obj))))
            # Written as a call of Fingerprinter with the digest: no value pickles that way, so a
            # stand-in never equals anything else.
            return (Fingerprinter, (hit[1],))

        self[cls] = reduce
        return reduce


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
    digest: bytes  # content_hash of the file's bytes
    article: Article | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class OutputFile:
    fingerprint: bytes
    size: int
    mtime_ns: int

    def matches(self, path: Path) -> bool:
        """The file on disk is still the one this entry describes (nobody edited or removed it)."""
        try:
            stat = path.stat()
        except OSError:
            return False
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


_SAVE_TABLE = copyreg.dispatch_table | dataclass_reducers(Article, Image, Provider, Story, Problem, ParsedFile, OutputFile)


@dataclass
class BuildCache:
    """What the last successful build of one content folder into one output folder knew."""

    file: Path | None
    key: str
    parsed: dict[str, ParsedFile] = field(default_factory=dict)
    outputs: dict[str, OutputFile] = field(default_factory=dict)
    reparsed: int = 0  # files parsed (not taken from the cache) in this build
    _saved: tuple[dict[str, ParsedFile], dict[str, OutputFile]] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, cache_dir: Path | None, content: Path, output: Path, parse_key: str) -> BuildCache:
        """The cache for this content/output pair; empty when missing, unreadable or from another version."""
        key = f"{GENERATOR}:{parse_key}"
        if cache_dir is None:
            return cls(None, key)
        cache = cls(cache_file(cache_dir, "build", content, output), key)
        try:
            with cache.file.open("rb") as handle:
                stored_key, parsed, outputs = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
            return cache
        if stored_key == key:
            cache.parsed, cache.outputs = parsed, outputs
            cache._saved = (parsed, outputs)
        return cache

    def parser(self, tz: tzinfo, jobs: int = 1) -> Parser:
        """A :data:`~digest.content.Parser` that parses (on ``jobs`` workers) only files whose bytes it has not seen.

        Files that were not asked for again (deleted or renamed) drop out of the saved cache.
        """
        previous, self.parsed = self.parsed, {}

        def parse(files: Sequence[tuple[str, bytes]]) -> list[Parsed]:
            digests = [content_hash(data) for _, data in files]
            todo = [index for index, ((source, _), digest) in enumerate(zip(files, digests))
                    if (entry := previous.get(source)) is None or entry.digest != digest]
            fresh = dict(zip(todo, parse_articles([files[index] for index in todo], tz, jobs)))
            self.reparsed += len(todo)
            results: list[Parsed] = []
            for index, ((source, _), digest) in enumerate(zip(files, digests)):
                if index in fresh:
                    article, problems = fresh[index]
                    self.parsed[source] = ParsedFile(digest, article, tuple(problems))
                else:
                    self.parsed[source] = previous[source]
                results.append((self.parsed[source].article, list(self.parsed[source].problems)))
            return results

        return parse

    def record(self, output: Path, fingerprints: dict[str, bytes]) -> None:
        """After a successful build: each page's fingerprint with the size and mtime its file now has.

        Called only once the new output is in place, so the cache never vouches for a page
        that a failed or interrupted build did not finish writing.
        """
        outputs = {}
        for rel_path, print_ in fingerprints.items():
            stat = (output / rel_path).stat()
            outputs[rel_path] = OutputFile(print_, stat.st_size, stat.st_mtime_ns)
        self.outputs = outputs

    def seed(self, fingerprint: Fingerprinter) -> None:
        """Let each parsed article stand in by the hash of its source and bytes, which determine it."""
        for source, entry in self.parsed.items():
            if entry.article is not None:
                fingerprint.seed(entry.article, content_hash(entry.digest + source.encode()))

    def _unchanged(self) -> bool:
        if self._saved is None or self.reparsed:
            return False
        parsed, outputs = self._saved
        return self.parsed.keys() == parsed.keys() and self.outputs == outputs

    def save(self) -> None:
        """Write atomically: a build killed while saving leaves the old cache (or none), never half of one."""
        if self.file is None or self._unchanged():
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickler = pickle.Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = _SAVE_TABLE
            pickler.dump((self.key, self.parsed, self.outputs))
        os.replace(temporary, self.file)
