"""Full-text search with Pagefind: a static index, no server needed, split into shards that are
indexed apart so an edit re-indexes only the shard of the article it changed.

Pagefind indexes only elements marked ``data-pagefind-body``; the article template puts it on
published articles alone, so list pages, drafts and everything else stay out of the index (and
``secured`` never reaches any page). The binary comes from the ``pagefind[bin]`` package; when
it is missing the site is built without search and the build says so (a warning, exit 0).

Each published article belongs to one shard, chosen by a hash of its ``webUrl`` (the original
story's address: its identity, which editing its title, text or date leaves alone) among a number
of shards that depends only on the number of articles, in powers of two (:func:`shard_count`):
shards are the same size, an article never moves between them unless that number doubles or
halves, and one Pagefind run over 600 articles costs 0.2 s and 35 MiB where one over 10,000 costs
5.6 s and 580 MiB. Not the page URL: it holds the day and a slug of the title, so a retitled
article would leave one shard for another and both would be indexed again.
Every shard is a Pagefind bundle of its own under ``pagefind/<count>-<index>/``; the first holds
the search engine too (``pagefind.js``, its worker and WebAssembly) and the search page merges the
others into it in the browser (Pagefind's ``mergeIndex``).

A shard is re-indexed only when what Pagefind would read from its pages changed (:func:`stale_shards`,
which compares the previous output's pages with the new ones, not a record of its own), so the
previous build's output is the only state: a clean build and an incremental one write the same bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Container, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Thread
from typing import IO, TYPE_CHECKING, Any

from .config import Config
from .content import Problem
from .model import Article
from .workers import Answer, Helper

if TYPE_CHECKING:
    from .output import SiteWriter, Stager
    from .pages import Page

INSTALL_HINT = "pip install 'pagefind[bin]'"
SEARCH_BUNDLE = "pagefind"  # the folder of the search index: one sub-folder per shard
SHARD_ARTICLES = 1000  # a shard holds at most this many articles on average before the count doubles
MAX_SHARDS = 64  # the browser fetches a little of every shard for each search: past this, shards grow instead
ENGINE = "pagefind.js"  # the script the search page imports, in the first shard's folder
# How much less CPU the early index (EarlyIndex) is given than the build it overlaps: Pagefind
# runs a thread per core, so at the same priority it takes turns with the build on the build's
# own core, and the build (which waits for it only at the end) finishes later.
EARLY_NICENESS = 10
# What Pagefind writes besides the index: the search engine, kept in the first shard only, and its
# ready-made UIs, which the theme's own search page (static/js/search.js) does not use.
_ENGINE_FILES = re.compile(r"pagefind\.js|pagefind-worker\.js|wasm\.[^/]+\.pagefind")
_UI_FILES = re.compile(r"pagefind-(ui|component-ui|modular-ui|highlight)\.(js|css)")
# What indexed_part looks for: the indexed element, anything else Pagefind reads, and what it keeps.
_BODY = b"data-pagefind-body"
_SPEAKS_TO_PAGEFIND = re.compile(rb"data-pagefind-(?!ignore)")
_HTML_START = re.compile(rb"<html(?=[\s>])[^>]*>", re.I)
_TITLE = re.compile(rb"<title[\s>].*?</title>", re.I | re.S)
_TAG_NAME = re.compile(rb"<([a-zA-Z][a-zA-Z0-9-]*)")


class SearchError(Exception):
    """Pagefind ran but failed: the build stops and the previous site stays (exit status 2)."""


@dataclass(frozen=True)
class Shard:
    """One Pagefind bundle: the article pages it indexes, as output paths, in URL order."""

    name: str  # its folder under SEARCH_BUNDLE, "<count>-<index>"
    pages: tuple[str, ...]
    primary: bool  # the first shard: it also holds the search engine the search page loads

    @property
    def folder(self) -> str:
        return f"{SEARCH_BUNDLE}/{self.name}"


@dataclass(frozen=True)
class SearchUpdate:
    """The shards a preview build left out of date, for the preview to re-index after the reload."""

    binary: Path
    shards: tuple[Shard, ...]  # every shard of this build
    stale: frozenset[str]  # names of those whose index is out of date


def find_pagefind() -> Path | None:
    """The Pagefind binary, looked for where the ``pagefind`` package's ``get_executable`` looks:
    ``PAGEFIND_BINARY_PATH``, the ``pagefind_bin_extended`` or ``pagefind_bin`` wheel, then
    ``pagefind_extended`` or ``pagefind`` on PATH; None when there is none.

    Not by calling it: its module, ``pagefind.service``, imports asyncio, 11 ms of every build.
    """
    binary = _pagefind_candidate()
    return binary if binary is not None and binary.is_file() else None


def _pagefind_candidate() -> Path | None:
    if (configured := os.environ.get("PAGEFIND_BINARY_PATH")) is not None:
        return Path(configured)
    for wheel in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            return Path(importlib.import_module(wheel).get_executable())
        except (ImportError, FileNotFoundError):  # not installed, or installed without its binary
            continue
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    return Path(found) if found else None


def resolve(config: Config, articles: tuple[Article, ...], config_path: Path | None) -> tuple[Config, Path | None, list[Problem]]:
    """Decide whether this build gets search: the config with ``search`` as it will really be, the
    binary to run, and a warning when search was asked for but cannot be built.

    With no published article there is nothing to index (Pagefind would then fall back to
    indexing whole pages, drafts included), so search is left out without a warning.
    """
    if not config.search:
        return config, None, []
    if not any(not article.draft for article in articles):
        return dataclasses.replace(config, search=False), None, []
    binary = find_pagefind()
    if binary is None:
        warning = Problem(
            str(config_path or "site.yaml"), 1,
            f"search is on but the Pagefind binary is not installed ({INSTALL_HINT}); "
            "the site is built without search (no /search/ page, no search box)",
            warning=True,
        )
        return dataclasses.replace(config, search=False), None, [warning]
    return config, binary, []


def shard_count(articles: int) -> int:
    """How many shards ``articles`` published articles are split into: a power of two, so the
    count changes (and every article is re-indexed once) only when the site doubles or halves."""
    count = 1
    while count < MAX_SHARDS and articles > count * SHARD_ARTICLES:
        count *= 2
    return count


def plan_shards(articles: Sequence[tuple[str, Page]]) -> tuple[Shard, ...]:
    """The shards of the searchable articles, each given as its ``webUrl`` and its page; a shard no
    article hashes to is left out."""
    count = shard_count(len(articles))
    members: dict[str, list[Page]] = {}
    for web_url, page in articles:
        members.setdefault(shard_name(web_url, count), []).append(page)
    return tuple(
        Shard(name, tuple(page.output_path for page in sorted(members[name], key=lambda p: p.url)), primary=position == 0)
        for position, name in enumerate(sorted(members))
    )


def shard_name(web_url: str, count: int) -> str:
    """The shard of the article whose ``webUrl`` is ``web_url`` among ``count``: a hash of it, so it
    never depends on other articles, nor on the article's title (which its page URL does)."""
    return f"{count}-{int.from_bytes(hashlib.sha256(web_url.encode()).digest()[:8], 'big') % count:02d}"


def indexed_part(page: bytes | None) -> bytes | None:
    """What Pagefind is handed of an output page, and all its index depends on; None when the page
    is not indexed.

    Pagefind indexes only the element marked ``data-pagefind-body``, takes the language from the
    ``<html>`` start tag, and the title and image from the element's first heading and image. So
    it is given that start tag, the ``<title>``, and the element alone, whenever nothing else on
    the page speaks to Pagefind (a ``data-pagefind-`` attribute outside the element, other than
    ``-ignore``, which could only ignore what is not indexed): a fifth of an article page's bytes,
    which costs Pagefind 30 % less CPU, and the bundle is the same bytes as from the whole page
    (tested). Nor does a change elsewhere on the page (the related-stories sidebar, the navigation,
    the sharing tags) make the page's shard stale: editing one article leaves the shards of the
    articles whose sidebars list it alone. A page this cannot take apart is handed over whole.
    """
    if page is None or (marker := page.find(_BODY)) < 0:
        return None
    start = page.rfind(b"<", 0, marker)
    end = _element_end(page, start)
    if end is None or _SPEAKS_TO_PAGEFIND.search(page, 0, start) or _SPEAKS_TO_PAGEFIND.search(page, end):
        return page
    html = _HTML_START.search(page, 0, start)
    title = _TITLE.search(page, 0, start)
    return b"".join((page[:html.end()] if html else b"", title.group() if title else b"", b"<body>",
                     page[start:end], b"</body></html>"))


def _element_end(page: bytes, start: int) -> int | None:
    """The offset just past the end tag of the element whose start tag is at ``start``, counting
    nested elements of the same name; None when the page does not close it."""
    name = _TAG_NAME.match(page, start)
    if name is None:
        return None
    depth = 0
    for tag in _tag_pattern(name.group(1).lower()).finditer(page, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            close = page.find(b">", tag.end())
            return None if close < 0 else close + 1
    return None


@functools.cache
def _tag_pattern(name: bytes) -> re.Pattern[bytes]:
    """Start and end tags of elements called ``name`` (group 1 is "/" for an end tag)."""
    return re.compile(rb"<(/?)" + re.escape(name) + rb"(?=[\s/>])", re.I)


def pagefind_version(binary: Path) -> str:
    """The version Pagefind writes into its bundles (``pagefind-entry.json``), e.g. ``1.5.2``."""
    try:
        run = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SearchError(f"search index: cannot run {binary}: {exc}") from None
    if run.returncode != 0:
        raise SearchError(f"search index: pagefind failed: {_last_line(run)}")
    return run.stdout.split()[-1] if run.stdout.split() else ""


def stale_shards(shards: Sequence[Shard], output: Path, changed: Container[str], source: Callable[[str], Path],
                 version: str) -> frozenset[str]:
    """The shards whose bundle in the current ``output`` no longer matches their pages.

    A bundle is up to date when it exists, was written by this Pagefind version for as many pages
    as the shard has now, holds the engine exactly when the shard is the first, and every page
    written this build (in ``changed``; ``source(path)`` is where its new bytes are) has the same
    indexed part as its previous version. A page that is new to the shard has no indexed previous
    version, so with the count equal, no page can have left it either; that includes an article
    whose URL changed (a new title) and that stays in its shard: its page at the new URL is new.
    Only the pages that changed are read, or even located (a path for each of 10,000 pages cost
    25 ms a build).
    """
    stale = set()
    for shard in shards:
        folder = output / shard.folder
        try:
            entry = json.loads((folder / "pagefind-entry.json").read_bytes())
            pages = sum(language["page_count"] for language in entry["languages"].values())
            fresh = entry["version"] == version and pages == len(shard.pages)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            fresh = False
        if not fresh or (folder / ENGINE).is_file() != shard.primary or any(
                indexed_part(_read(output / path)) != indexed_part(_read(source(path)))
                for path in shard.pages if path in changed):
            stale.add(shard.name)
    return frozenset(stale)


def update_index(binary: Path, writer: SiteWriter, shards: Sequence[Shard], jobs: int,
                 early: EarlyIndex | None = None) -> None:
    """Write the search index of a build: shards that are still right are kept as they are, the
    others are indexed again, ``jobs`` Pagefind processes at a time, each over its shard's pages alone.
    The shards ``early`` started on already (when it did) are its to index."""
    started = early if early is not None and early.started else None
    checked = [shard for shard in shards if started is None or shard.name not in started.names]
    version = started.version() if started is not None else pagefind_version(binary)
    stale = stale_shards(checked, writer.output, writer.changed, writer.source, version)
    todo = [shard for shard in checked if shard.name in stale]
    # Each shard's files are written by the thread that indexed it, as soon as Pagefind is done with
    # it: on a first build that is 10,000 small files at 10,000 articles, written while the other
    # shards are indexed rather than after them all. The bookkeeping stays in this thread.
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        staged = list(pool.map(lambda shard: _stage(writer.stager, shard, index_shard(binary, shard, writer.source)), todo))
    if started is not None:
        early_stale, early_staged = started.result()
        stale |= early_stale
        staged += early_staged
    for shard in shards:
        if shard.name not in stale:
            writer.keep_folder(shard.folder)
    for files in staged:
        for path, written in files:
            writer.record(path, written)


def _stage(stager: Stager, shard: Shard, bundle: list[tuple[str, bytes]]) -> list[tuple[str, bool]]:
    """Write a shard's bundle files into the staging folder: their output paths, each with whether it was written."""
    staged = []
    for rel, data in bundle:
        path = f"{shard.folder}/{rel}"
        staged.append((path, stager.stage(path, data)))
    return staged


class EarlyIndex:
    """The shards an edit most likely made stale (those of the articles whose files were parsed
    again), indexed by the build's helper process while the build goes on.

    The build renders their pages first (:meth:`pages`), then calls :meth:`start`,
    which hands them to the helper (``workers.Helper``, forked with :data:`EARLY_WORK`): it checks
    which of them really are stale and indexes those, niced so that Pagefind's threads leave the
    build its core (a thread feeding Pagefind would wait on the build for the interpreter lock at
    every page); the build meanwhile fingerprints the other pages, and :func:`update_index`
    collects the bundles. The bytes are those a later start would give: a shard's bundle depends on
    its pages alone, and they are final once rendered.
    """

    def __init__(self, binary: Path, writer: SiteWriter, shards: Sequence[Shard], helper: Helper) -> None:
        self.binary, self.writer, self.shards, self.helper = binary, writer, tuple(shards), helper
        self.names = frozenset(shard.name for shard in self.shards)
        self._version: Answer[str] | None = None
        self._indexed: Answer[tuple[frozenset[str], list[list[tuple[str, bool]]]]] | None = None

    def pages(self, pages: Sequence[Page]) -> list[Page]:
        """Those of ``pages`` that these shards index: the pages to render first."""
        paths = {path for shard in self.shards for path in shard.pages}
        return [page for page in pages if page.output_path in paths]

    @property
    def started(self) -> bool:
        return self._indexed is not None

    def start(self) -> None:
        """Hand the shards (their pages are rendered) to the helper."""
        changed = self.writer.changed
        moved = {path: str(self.writer.source(path)) for shard in self.shards for path in shard.pages if path in changed}
        self._version = self.helper.call(pagefind_version, self.binary)
        self._indexed = self.helper.call(index_stale, self.binary, self.shards, self.writer.stager, moved)

    def version(self) -> str:
        """Pagefind's version, which update_index needs too (a process to ask), once started."""
        assert self._version is not None
        return self._version.result()

    def result(self) -> tuple[frozenset[str], list[list[tuple[str, bool]]]]:
        """The names of the shards that were stale, and for each of those the files of its bundle,
        staged (see :func:`index_stale`), once Pagefind is done with them."""
        assert self._indexed is not None
        return self._indexed.result()


def index_stale(binary: Path, shards: Sequence[Shard], stager: Stager,
                moved: dict[str, str]) -> tuple[frozenset[str], list[list[tuple[str, bool]]]]:
    """For :class:`EarlyIndex`, in the build's helper: which of ``shards`` are stale, and the files of
    the bundle of each of those, staged by the helper itself (their output paths, each with whether
    it was written), so that neither their bytes nor the writing go through the build. ``moved``
    holds where the pages this build wrote are until it commits (every other page is the output's);
    they are the pages that changed."""
    output = stager.output

    def source(path: str) -> Path:
        return Path(moved[path]) if path in moved else output / path

    stale = stale_shards(shards, output, moved, source, pagefind_version(binary))
    os.nice(EARLY_NICENESS)  # Pagefind inherits it
    return stale, [_stage(stager, shard, index_shard(binary, shard, source)) for shard in shards if shard.name in stale]


def shards_of(shards: Sequence[Shard], web_urls: Iterable[str]) -> tuple[Shard, ...]:
    """Those of ``shards`` (a build's, from :func:`plan_shards`) that the articles with these web URLs belong to."""
    count = shard_count(sum(len(shard.pages) for shard in shards))
    names = {shard_name(web_url, count) for web_url in web_urls}
    return tuple(shard for shard in shards if shard.name in names)


def deferred_update(binary: Path, writer: SiteWriter, shards: tuple[Shard, ...]) -> SearchUpdate | None:
    """For the preview, which keeps the previous index: the shards it has out of date, to be
    re-indexed after the reload (None when it has none)."""
    stale = stale_shards(shards, writer.output, writer.changed, writer.source, pagefind_version(binary))
    return SearchUpdate(binary, shards, stale) if stale else None


def index_shard(binary: Path, shard: Shard, source: Callable[[str], Path],
                started: Callable[[subprocess.Popen[bytes]], None] = lambda process: None) -> list[tuple[str, bytes]]:
    """The files of ``shard``'s bundle (:func:`bundle_files`), Pagefind reading the pages' new
    bytes from ``source(path)``; ``started`` gets the Pagefind process (the preview may stop it)."""
    pages = [("/" + path.removesuffix("index.html"), source(path)) for path in shard.pages]
    return bundle_files(PagefindService(binary, started).index(pages), shard.primary)


class PagefindService:
    """One ``pagefind --service`` process indexing pages handed over as HTML, with no folder of them.

    This is the protocol Pagefind's own Node and Python wrappers speak (each message a base64 JSON
    object followed by a comma, on stdin and stdout), spoken directly: the Python wrapper waits
    0.1 s between the replies it reads, 60 s for a shard of 600 pages. The pages are added in the
    order given and Pagefind's output depends only on them, so the same pages give the same bytes.
    """

    def __init__(self, binary: Path, started: Callable[[subprocess.Popen[bytes]], None]) -> None:
        self.binary, self.started = binary, started

    def index(self, pages: Sequence[tuple[str, Path]]) -> dict[str, bytes]:
        """The bundle of these pages (URL, file), as path inside the bundle -> bytes."""
        try:
            process = subprocess.Popen([str(self.binary), "--service"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise SearchError(f"search index: cannot run {self.binary}: {exc}") from None
        self.started(process)
        assert process.stdin is not None and process.stdout is not None
        replies = _Replies(process.stdout)
        feeder: Thread | None = None
        unreadable: list[str] = []  # a page the feeder could not read
        try:
            try:
                _send(process.stdin, 0, {"type": "NewIndex", "config": None})
            except OSError:  # it exited already; its reply, if any, says why
                pass
            index_id = replies.next(0)["index_id"]
            # Pagefind answers every page; a thread feeds them so neither side waits on a full pipe.
            feeder = Thread(target=self._feed, args=(process.stdin, index_id, pages, unreadable), daemon=True)
            feeder.start()
            for number in range(1, len(pages) + 1):
                replies.next(number)
            files = replies.next(len(pages) + 1)["files"]
            return {file["path"]: base64.b64decode(file["content"]) for file in files}
        except SearchError:
            if unreadable:
                raise SearchError(f"search index: cannot read {unreadable[0]}") from None
            raise
        finally:
            process.kill()
            process.wait()
            if feeder is not None:
                feeder.join()

    @staticmethod
    def _feed(stdin: IO[bytes], index_id: int, pages: Sequence[tuple[str, Path]], unreadable: list[str]) -> None:
        """Hand over what Pagefind indexes of each page (:func:`indexed_part`), not the whole page.

        A page it cannot read ends Pagefind's input, so Pagefind stops and the reading side reports
        that page, rather than both waiting for the rest forever.
        """
        try:
            for number, (url, path) in enumerate(pages, 1):
                try:
                    page = path.read_bytes()
                except OSError as exc:
                    unreadable.append(f"{path}: {exc.strerror or exc}")
                    stdin.close()
                    return
                _send(stdin, number, {"type": "AddFile", "index_id": index_id, "file_path": None, "url": url,
                                      "file_contents": (indexed_part(page) or page).decode("utf-8", "replace")})
            _send(stdin, len(pages) + 1, {"type": "GetFiles", "index_id": index_id})
        except (OSError, ValueError):
            pass  # Pagefind stopped (or was stopped): the reading side reports it


def _send(stdin: IO[bytes], number: int, payload: dict[str, Any]) -> None:
    stdin.write(base64.b64encode(json.dumps({"message_id": number, "payload": payload}).encode()) + b",")
    stdin.flush()


class _Replies:
    """The service's replies, in order; each is checked to answer the message it should."""

    def __init__(self, stdout: IO[bytes]) -> None:
        self.stdout, self.buffer = stdout, bytearray()

    def next(self, number: int) -> dict[str, Any]:
        while (end := self.buffer.find(b",")) < 0:
            chunk = self.stdout.read1(1 << 20)  # type: ignore[attr-defined]
            if not chunk:
                raise SearchError("search index: pagefind stopped before it finished")
            self.buffer += chunk
        try:
            reply = json.loads(base64.b64decode(bytes(self.buffer[:end])))
            payload = reply.get("payload") or {}
        except (ValueError, AttributeError):
            raise SearchError("search index: pagefind answered something that is not a reply") from None
        del self.buffer[:end + 1]
        if payload.get("type") == "Error":
            raise SearchError(f"search index: pagefind failed: {payload.get('message', 'unknown error')}")
        if reply.get("message_id") != number:
            raise SearchError(f"search index: pagefind answered message {reply.get('message_id')}, not {number}")
        return payload


def bundle_files(bundle: dict[str, bytes], primary: bool) -> list[tuple[str, bytes]]:
    """The files of a Pagefind bundle a shard publishes, by path inside the shard's folder:
    the index, and the engine for the first shard; never the ready-made UIs."""
    return [(rel, bundle[rel]) for rel in sorted(bundle)
            if not _UI_FILES.fullmatch(rel) and (primary or not _ENGINE_FILES.fullmatch(rel))]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _last_line(run: subprocess.CompletedProcess[str]) -> str:
    detail = (run.stderr or run.stdout).strip().splitlines()
    return detail[-1] if detail else f"exit status {run.returncode}"


# What a build's helper process (workers.Helper) must be forked with for an EarlyIndex.
EARLY_WORK = (pagefind_version, index_stale)
