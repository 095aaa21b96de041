"""Load stage: find article files, parse their front matter and body, validate into records.

Every string here is untrusted. A file that cannot become an :class:`Article` is
reported as one ``path:line: message`` problem and skipped; the other files go on.
"""

from __future__ import annotations

import copyreg
import gc
import io
import os
import pickle
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from time import time_ns
from typing import Any
from urllib.parse import urlsplit

import frontmatter
import nh3
import yaml

from . import fastyaml
from .model import Article, Image, Provider, Story, dataclass_reducers
from .workers import fork_map

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")
MAX_YAML_NODES = 20_000  # far above any real article; stops alias bombs and huge lists early

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Only the tags plain YAML resolves by itself: no !!python/..., !!binary, !!set or custom tags.
_ALLOWED_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
_FM = frontmatter.YAMLHandler()
# Characters XML 1.0 forbids, plus the C1 controls: never useful in text, dangerous in feeds.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACE = re.compile(r"\s+")
_UNTIDY = re.compile(f"{_CONTROL.pattern}|[^\\S ]|  ")  # what either of the two above would change
# Whitespace, controls and backslashes inside a URL: browsers "repair" them, so such a URL is refused.
_URL_TRICKS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")

# Allow-list for HTML inside Markdown bodies (nh3: Rust's ammonia, fast and maintained).
_BODY_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "figcaption",
    "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q", "s",
    "small", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
_BODY_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "abbr": {"title"},
}


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem in one content file. Errors skip the file; warnings only drop a value."""

    path: str
    line: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}: {kind}{self.message}"


class _Invalid(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class LoadResult:
    articles: tuple[Article, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.warning)


Stamp = tuple[int, int, int, int]  # a file's size, mtime_ns, ctime_ns and inode, as stat gives them
# A stamp vouches for a file's bytes only once its change time is this far in the past: see settled().
SETTLE_NS = 5_000_000_000


def stamp(stat: os.stat_result) -> Stamp:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def settled(file_stamp: Stamp, taken_ns: int) -> bool:
    """Whether a stamp taken at ``taken_ns`` (wall clock) can stand for the file's bytes from then on.

    Any write sets a file's change time (POSIX ctime) to the current time, and no program can
    set it back (unlike mtime, which ``touch`` or ``cp -p`` can); so once a file's ctime is
    older than the stat, a later change gives it a new stamp, as long as the file system's clock
    ticks between the two. A file changed in the last few seconds (the coarsest timestamps are
    FAT's two seconds) could still be written again within the same tick, same size: callers
    read such "racy" files (git's word) and compare their bytes instead.
    """
    return file_stamp[2] < taken_ns - SETTLE_NS


@dataclass(frozen=True, slots=True)
class SourceFile:
    """An article file found under the content folder, with what stat said about it then."""

    rel: str  # its path relative to the content folder, POSIX style: the article's ``source``
    path: str  # where to read it
    stamp: Stamp
    settled: bool  # the stamp can vouch for the bytes (see settled())


@dataclass(frozen=True)
class Listing:
    """Every article file under a content folder, from one walk: the no-change check and the load
    stage share it, so the folder is walked and stat'ed once per build."""

    files: tuple[SourceFile, ...]
    problems: tuple[Problem, ...]  # links leading outside the folder, files stat cannot see
    listed_ns: int  # the wall clock just before the walk


def list_articles(content_dir: Path) -> Listing:
    """Every article file under ``content_dir``, sorted, with its stamp; links leading outside it are refused.

    Dot-files and dot-folders are skipped; linked folders are not followed. One ``os.scandir``
    per folder and one stat per file, and plain strings rather than :class:`Path` objects: this
    runs on every build, over every file.
    """
    listed_ns = time_ns()
    root = str(content_dir.resolve())
    files: list[SourceFile] = []
    problems: list[Problem] = []

    # Depth first, a folder's files before its subfolders' (as os.walk lists them), with a list of
    # the folders still to do rather than a recursive inner function: one refers to itself, and that
    # cycle would keep the file list alive after the build until a full pass of the collector.
    pending = [(root, "")]  # the next folder to list is the last
    while pending:
        folder, prefix = pending.pop()
        try:
            # Listed through a handle on the folder, so each file is stat'ed by its name in it rather
            # than by a path the kernel walks from the root again (a tenth of this function's time)
            handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue  # as os.walk: a folder that vanished or cannot be read holds nothing
        try:
            folders = _list_folder(handle, folder, prefix, root, listed_ns, files, problems)
        finally:
            os.close(handle)
        pending.extend((os.path.join(folder, name), f"{prefix}{name}/") for name in reversed(folders))
    return Listing(tuple(files), tuple(problems), listed_ns)


def _list_folder(handle: int, folder: str, prefix: str, root: str, listed_ns: int,
                 files: list[SourceFile], problems: list[Problem]) -> list[str]:
    """Add the article files of one folder (open as ``handle``) to ``files``, and the links leading
    outside ``root`` and files stat cannot see to ``problems``; return its subfolders' names, sorted."""
    try:
        with os.scandir(handle) as scan:
            entries = sorted((entry for entry in scan if not entry.name.startswith(".")), key=lambda e: e.name)
    except OSError:
        return []
    folders = []
    base = os.path.join(folder, "")  # what a name is appended to for its path
    for entry in entries:
        name = entry.name
        try:
            is_folder = entry.is_dir()
        except OSError:
            is_folder = False
        if is_folder:
            if not entry.is_symlink():
                folders.append(name)
            elif not _inside(base + name, root):
                problems.append(Problem(prefix + name, 1, "link leads outside the content folder; skipped"))
            continue
        if not name.lower().endswith(ARTICLE_SUFFIXES):
            continue
        if entry.is_symlink() and not _inside(base + name, root):
            problems.append(Problem(prefix + name, 1, "link leads outside the content folder; skipped"))
            continue
        try:
            file_stamp = stamp(entry.stat())
        except OSError as exc:
            problems.append(Problem(prefix + name, 1, f"cannot read file: {exc.strerror}"))
            continue
        files.append(SourceFile(prefix + name, base + name, file_stamp, settled(file_stamp, listed_ns)))
    return folders


def _inside(path: str, root: str) -> bool:
    return Path(path).resolve().is_relative_to(root)


Parsed = tuple[Article | None, list[Problem]]
# Listed files, in order -> the article (or None) and problems of each; the parser reads the files it needs.
Parser = Callable[[Sequence[SourceFile]], list[Parsed]]


def load_articles(
    content: Path | Listing,
    tz: tzinfo,
    *,
    drafts: bool = False,
    max_file_size: int = 1024 * 1024,
    parse: Parser | None = None,
) -> LoadResult:
    """Load every article under a content folder (or of its listing); drafts are dropped unless ``drafts``.

    ``parse`` replaces :func:`parse_files` (in-process, with ``tz``): the build cache passes one
    that reads and parses only files it has not seen, on the build's workers.
    """
    listing = content if isinstance(content, Listing) else list_articles(content)
    problems = list(listing.problems)
    todo: list[SourceFile] = []
    slots: list[Problem | int] = []  # per file: why it was not read, or its index in todo
    for file in listing.files:
        if file.stamp[0] > max_file_size:
            slots.append(Problem(file.rel, 1, f"file is larger than the {max_file_size} byte limit"))
        else:
            slots.append(len(todo))
            todo.append(file)
    with collector_paused():
        parsed = parse(todo) if parse else parse_files(todo, tz)
    articles: list[Article] = []
    for slot in slots:
        if isinstance(slot, Problem):
            problems.append(slot)
            continue
        article, file_problems = parsed[slot]
        problems.extend(file_problems)
        if article is not None and (drafts or not article.draft):
            articles.append(article)
    return LoadResult(tuple(articles), tuple(problems))


def read_source(file: SourceFile) -> bytes | Problem:
    """A listed file's bytes, or the problem that stopped reading them."""
    try:
        with open(file.path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        return Problem(file.rel, 1, f"cannot read file: {exc.strerror}")


def parse_files(files: Sequence[SourceFile], tz: tzinfo, jobs: int = 1) -> list[Parsed]:
    """Read and parse each listed file: :func:`parse_articles` on those that could be read."""
    data = [read_source(file) for file in files]
    readable = [(file.rel, content) for file, content in zip(files, data) if isinstance(content, bytes)]
    parsed = iter(parse_articles(readable, tz, jobs))
    return [(None, [content]) if isinstance(content, Problem) else next(parsed) for content in data]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic collector while parsing: it would only scan the growing heap again and again.

    Parsing makes some hundred objects per file (records, dicts, unpickled results) and hardly a
    cycle; at 10,000 files the collector took a fifth of the load time. Forked parse workers
    inherit the pause, and any cycle left is collected once the collector runs again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # What was made here lives on, or reference counting frees it: filed with the oldest
            # objects (two list splices) rather than scanned by the collector's first pass after
            # the pause, which walked them all (a tenth of a second after loading 10,000 articles).
            gc.freeze()
            gc.unfreeze()
            gc.enable()


PARALLEL_MIN = 256  # fewer files parse faster in-process than workers start
_CHUNK = 64  # files per worker task: their results travel back pickled together, which is far cheaper
# How parsed records are pickled, by the parse workers and the build cache: a provider travels as
# its name and domain and is made again as the loading process's shared object (see shared_provider)
RECORD_PICKLING = (copyreg.dispatch_table | dataclass_reducers(Article, Image, Story, Problem)
                   | {Provider: lambda provider: (shared_provider, (provider.name, provider.domain))})


def parse_articles(files: Sequence[tuple[str, bytes]], tz: tzinfo, jobs: int = 1) -> list[Parsed]:
    """:func:`parse_article` for each (source, bytes), in order; on ``jobs`` forked workers when there are many.

    The results are the same, in the same order, for any number of workers.
    """
    if jobs <= 1 or len(files) < PARALLEL_MIN:
        return [parse_article(data, source, tz) for source, data in files]

    def parse_chunk(start: int) -> bytes:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = RECORD_PICKLING
        pickler.dump([parse_article(data, source, tz) for source, data in files[start:start + _CHUNK]])
        return buffer.getvalue()

    chunks = {start: pickle.loads(data) for start, data in fork_map(parse_chunk, range(0, len(files), _CHUNK), jobs)}
    return [result for start in sorted(chunks) for result in chunks[start]]


def parse_article(data: bytes, source: str, tz: tzinfo) -> tuple[Article | None, list[Problem]]:
    """Parse one file's bytes. Returns the article (or None) and the problems found."""
    warnings: list[Problem] = []
    try:
        front_matter, body, offset = _split(_decode(data))
        meta = fastyaml.load(front_matter)
        if meta is not None:
            try:
                return _validate(meta, _unlocated, body, source, tz, warnings), warnings
            except _NeedLines:
                pass  # a problem to report (before any was recorded): parsed again below, for its line
        meta, node = _load_yaml(front_matter, offset)
        article = _validate(meta, _Lines(node, offset), body, source, tz, warnings)
    except _Invalid as exc:
        return None, [Problem(source, exc.line, exc.message)]
    return article, warnings


def _decode(data: bytes) -> str:
    if not data.strip():
        raise _Invalid(1, "file is empty")
    if b"\x00" in data:
        raise _Invalid(1, "file is binary, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _Invalid(line, "file is not valid UTF-8") from None
    # Control characters are dropped before parsing: YAML would refuse the whole file for one.
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _split(text: str) -> tuple[str, str, int]:
    """Front matter and body; ``offset`` is the file line before the front matter's line 1."""
    if not _FM.detect(text):
        raise _Invalid(1, "no YAML front matter: the file must start with a '---' line")
    parts = _FM.FM_BOUNDARY.split(text, 2)
    if len(parts) < 3:
        raise _Invalid(1, "front matter is not closed by a '---' line")
    before, front_matter, body = parts
    return front_matter, body, before.count("\n")  # front matter starts with the rest of the "---" line


def _load_yaml(front_matter: str, offset: int) -> tuple[dict[Any, Any], yaml.Node]:
    """The reference: PyYAML's safe loader, with its node tree for the line numbers of problems."""
    loader = _YAML_LOADER(front_matter)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Invalid(offset + 2, "front matter is empty")
        _check_nodes(node, offset)
        meta = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = offset + mark.line + 1 if mark else offset + 2
        raise _Invalid(line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise _Invalid(offset + 2, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp like 2020-13-45
        raise _Invalid(_bad_value_line(node, offset), f"invalid YAML value: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(meta, dict):
        raise _Invalid(offset + 2, "front matter must be a mapping of keys to values")
    return meta, node


def _check_nodes(root: yaml.Node, offset: int) -> None:
    """Refuse aliases, non-standard tags and oversized documents before constructing anything."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, root.start_mark.line)]
    while stack:
        node, mark_line = stack.pop()
        line = offset + mark_line + 1
        if id(node) in seen:
            raise _Invalid(line, "YAML aliases (*name) are not allowed")
        seen.add(id(node))
        if len(seen) > MAX_YAML_NODES:
            raise _Invalid(line, f"front matter has more than {MAX_YAML_NODES} values")
        if node.tag not in _ALLOWED_TAGS:
            raise _Invalid(line, f"YAML tag {node.tag!r} is not allowed")
        if isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):  # document order, so an alias is met after its anchor
                stack.append((value, key.start_mark.line))
                stack.append((key, key.start_mark.line))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, item.start_mark.line) for item in reversed(node.value))


def _bad_value_line(root: yaml.Node, offset: int) -> int:
    """The line of the first scalar that fails to construct (only called once construction failed)."""
    constructor = yaml.constructor.SafeConstructor()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node, deep=True)
            except (ValueError, OverflowError):
                return offset + node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in reversed(node.value) for item in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return offset + 2


Lines = Callable[..., int]  # key path in the front matter -> file line, for a problem's message


class _NeedLines(Exception):
    """Validation found a problem in front matter read on the fast path, which has no line numbers."""


def _unlocated(*path: str | int) -> int:
    """The ``lines`` of the fast path: every problem is reported again from the reference parse."""
    raise _NeedLines


class _Lines:
    """Finds the file line of a value in the front matter by its key path, for messages."""

    def __init__(self, node: yaml.Node, offset: int) -> None:
        self.node = node
        self.offset = offset

    def __call__(self, *path: str | int) -> int:
        node = self.node
        for step in path:
            if isinstance(node, yaml.MappingNode):
                match = [(k, v) for k, v in node.value if getattr(k, "value", None) == step]
                if not match:
                    break
                key, node = match[0]
                if step == path[-1] and isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
                    return self.offset + key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
            else:
                break
        return self.offset + node.start_mark.line + 1


def clean_text(value: Any, *, multiline: bool = False) -> str:
    """Text from content: no control characters, trimmed, and single-line unless ``multiline``."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    text = str(value)
    if _UNTIDY.search(text):  # most text has nothing to remove: one search instead of two substitutions
        text = _CONTROL.sub("", text)
        if not multiline:
            text = _SPACE.sub(" ", text)
    return text.strip()


def safe_url(value: Any) -> str | None:
    """The URL if it is an absolute http(s) URL with a host and no whitespace tricks, else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or _URL_TRICKS.search(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _number(value: Any, low: int, high: int) -> int | None:
    """A whole number from an int, float or numeric string, clamped to [low, high]."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return max(low, min(high, round(number)))


def _datetime(value: Any, tz: tzinfo) -> datetime | None:
    """An aware datetime from YAML's timestamp or an ISO 8601 string; zone-less means the site's zone."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _domain(url: str | None) -> str:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.removeprefix("www.")


_HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


def _provider(value: Any, web_url: str | None) -> Provider | None:
    """The provider, keyed by a real host name: a domain that is not one falls back to the URL's host."""
    raw = value if isinstance(value, dict) else {}
    domain = clean_text(raw.get("domain")).lower().removeprefix("www.")
    if not _HOSTNAME.fullmatch(domain):
        domain = _domain(web_url)
    name = clean_text(raw.get("name")) or domain
    return shared_provider(name, domain) if domain else None


_PROVIDERS: dict[tuple[str, str], Provider] = {}
_PROVIDERS_MAX = 100_000  # providers remembered at most; then the table starts again (a `serve` that runs for days)


def shared_provider(name: str, domain: str) -> Provider:
    """The one :class:`Provider` of this process with this name and domain.

    A site names a few outlets many times (at 10,000 articles: 60 providers, 25,000 mentions with
    the related stories). Parsing makes each through here, and so does loading records pickled
    with :data:`RECORD_PICKLING` (a parse worker's, the build cache's), so records share them:
    a worker's batch is smaller to send back, and a shard of the build cache pickles and loads
    each provider once rather than once per mention (a seventh of the time to load 10,000 articles).
    """
    key = (name, domain)
    provider = _PROVIDERS.get(key)
    if provider is None:
        if len(_PROVIDERS) >= _PROVIDERS_MAX:
            _PROVIDERS.clear()
        provider = _PROVIDERS[key] = Provider(name, domain)
    return provider


def _images(value: Any, lines: Lines, path: tuple[str | int, ...], warn: Any) -> tuple[Image, ...]:
    images = []
    for index, raw in enumerate(value if isinstance(value, list) else []):
        if not isinstance(raw, dict):
            continue
        url = safe_url(raw.get("url"))
        if url is None:
            warn(lines(*path, index, "url"), "image url is not an http(s) URL; image left out")
            continue
        images.append(Image(
            url=url,
            width=_dimension(raw.get("width")),
            height=_dimension(raw.get("height")),
            alt=clean_text(raw.get("alt")),
        ))
    return tuple(images)


def _dimension(value: Any) -> int | None:
    number = _number(value, 0, 100_000)
    return number or None


def _related(value: Any, lines: Lines, tz: tzinfo, warn: Any) -> tuple[Story, ...]:
    stories = []
    for index, raw in enumerate(value if isinstance(value, list) else []):
        if not isinstance(raw, dict) or not clean_text(raw.get("title")):
            warn(lines("related", index), "related story has no title; left out")
            continue
        url = safe_url(raw.get("webUrl"))
        if url is None and raw.get("webUrl") is not None:
            warn(lines("related", index, "webUrl"), "related webUrl is not an http(s) URL; link left out")
        stories.append(Story(
            title=clean_text(raw.get("title")),
            web_url=url,
            excerpt=clean_text(raw.get("excerpt")),
            published=_datetime(raw.get("publishedDateTime"), tz),
            provider=_provider(raw.get("provider"), url),
            image=next(iter(_images(raw.get("images"), lines, ("related", index, "images"), warn)), None),
        ))
    return tuple(stories)


def _topics(value: Any) -> tuple[str, ...]:
    raw = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    topics: dict[str, str] = {}  # by casefolded name: the first spelling wins
    for item in raw:
        name = clean_text(item) if isinstance(item, (str, int, float)) else ""
        if name:
            topics.setdefault(name.casefold(), name)
    return tuple(topics.values())


def _published_flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0")
    return value is not False


def render_body(body: str) -> str:
    """Markdown body to HTML, then sanitized with an allow-list: content HTML is never trusted."""
    if not body.strip():
        return ""
    import markdown  # imported on first use: most articles have no body, most builds parse none (~9 ms)

    html = markdown.markdown(_CONTROL.sub("", body), extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=_BODY_TAGS,
        attributes=_BODY_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )


def _validate(
    meta: dict[Any, Any], lines: Lines, body: str, source: str, tz: tzinfo, warnings: list[Problem]
) -> Article:
    def warn(line: int, message: str) -> None:
        warnings.append(Problem(source, line, message, warning=True))

    title = clean_text(meta.get("title"))
    if not title:
        raise _Invalid(lines("title"), "missing or empty required field 'title'")
    if "publishedDateTime" not in meta or meta["publishedDateTime"] in (None, ""):
        raise _Invalid(lines("publishedDateTime"), "missing required field 'publishedDateTime'")
    published = _datetime(meta["publishedDateTime"], tz)
    if published is None:
        raise _Invalid(lines("publishedDateTime"), f"'publishedDateTime' is not an ISO 8601 date: {clean_text(meta['publishedDateTime'])[:60]!r}")
    if not meta.get("webUrl"):
        raise _Invalid(lines("webUrl"), "missing or empty required field 'webUrl'")
    web_url = safe_url(meta["webUrl"])
    if web_url is None:
        raise _Invalid(lines("webUrl"), "'webUrl' must be an absolute http(s) URL")
    optional_urls = {}
    for key in ("ampWebUrl", "cdnAmpWebUrl"):
        optional_urls[key] = safe_url(meta.get(key))
        if meta.get(key) and optional_urls[key] is None:
            warn(lines(key), f"'{key}' is not an http(s) URL; left out")
    scores = {}
    for key in ("quality", "heat"):
        scores[key] = _number(meta.get(key), 0, 100)
        if meta.get(key) is not None and scores[key] is None:
            warn(lines(key), f"'{key}' is not a number; ignored")
    provider = _provider(meta.get("provider"), web_url)
    assert provider is not None  # web_url always has a host
    return Article(
        source=source,
        title=title,
        published=published,
        web_url=web_url,
        provider=provider,
        excerpt=clean_text(meta.get("excerpt")),
        amp_url=optional_urls["ampWebUrl"],
        cdn_amp_url=optional_urls["cdnAmpWebUrl"],
        type=clean_text(meta.get("type")) or "article",
        category=clean_text(meta.get("category")),
        quality=scores["quality"],
        heat=scores["heat"],
        draft=not _published_flag(meta.get("published", True)),
        topics=_topics(meta.get("topics")),
        images=_images(meta.get("images"), lines, ("images",), warn),
        related=_related(meta.get("related"), lines, tz, warn),
        body_html=render_body(body),
    )


def iter_problem_lines(problems: tuple[Problem, ...]) -> Iterator[str]:
    """Problems as the ``path:line: message`` lines printed on stderr, in file order."""
    for problem in sorted(problems, key=lambda p: (p.path, p.line, p.message)):
        yield str(problem)
