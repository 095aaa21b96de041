"""Render stage: one Jinja environment (autoescape on, strict undefined); ``render(page) -> bytes``.

Rendering is a pure function of the page and the templates, so the same input always
gives the same bytes and pages can be rendered in any order.
"""

from __future__ import annotations

import hashlib
import marshal
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from datetime import date, datetime
from pathlib import Path
from types import CodeType, MethodType
from typing import Any

import jinja2
import jinja2.meta
from jinja2.bccache import Bucket
from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.utils import internalcode
from markupsafe import Markup, escape

try:  # what markupsafe.escape runs on a plain str; a private name, so a MarkupSafe without it only costs speed
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover
    def _escape_inner(text: str) -> str:
        return str(escape(text))

from .assets import Assets
from .cache import GENERATOR, read_blob, write_blob
from .config import Config
from .imagecache import Entry
from .pages import Page, url_for
from .theme import template_loader
from .pictures import Pictures

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# Arguments of fragment() compared by value; any other argument counts by identity (see Renderer.fragment).
_VALUES = frozenset({str, int, float, bool, type(None)})


class Renderer:
    """Turns pages into HTML bytes with the site's templates."""

    def __init__(self, templates_dir: Path | None, config: Config, assets: Assets,
                 images: Mapping[str, Entry] | None = None, image_cache: Path | None = None,
                 cache_dir: Path | None = None) -> None:
        """``cache_dir``: where compiled templates and the templates each one uses are kept between
        builds (see :class:`TemplateCache`); None compiles and reads every template afresh."""
        self.config = config
        # Read for every link and date printed: worked out once (both are computed properties of Config).
        self._base_path = config.base_path
        self._tz = config.tz
        self._cache = TemplateCache.open(cache_dir) if cache_dir else None
        self.assets = assets
        self.pictures = Pictures(config.images, images or {}, image_cache, self.link_path)
        self.env = _Environment(
            loader=template_loader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # one build, one set of templates: no stat() per include (serve makes a new Renderer)
            cache_size=-1,  # a theme is a few dozen templates: a plain dict, not an LRU with a lock, per include
            bytecode_cache=self._cache.bytecode if self._cache else None,
        )
        self.env.filters.update(
            human_date=self.human_date, iso_date=self.iso_date, absolute=self.absolute, href=self.link_path
        )
        self.env.globals.update(link=self.link, asset=self.asset, config=config, picture=self.pictures.picture,
                                fragment=self.fragment, stylesheets=self.stylesheets())
        self._digests: dict[str, bytes] = {}
        self._closures: dict[str, dict[str, str]] = {}  # see _dependencies
        self._fragments: dict[tuple[Any, ...], tuple[Markup, dict[str, Any]]] = {}
        self._times: dict[tuple[datetime, int], tuple[str, str]] = {}  # see _local_times
        self._days: dict[date, str] = {}  # see link

    def fragment(self, name: str, **values: Any) -> Markup:
        """The Jinja global ``fragment(name, **values)``: the partial ``name`` rendered with only
        ``values`` (and the globals), each distinct call rendered once per process.

        A card appears on its topic, provider and day pages and the home page, a related story in
        several sidebars: a page that prints it with ``fragment`` gets the same bytes again instead of
        running the template again. The partial sees nothing of the page, so the result is a function of
        the arguments alone. Strings, numbers, booleans and None count by value, any other argument by
        identity: page contexts hold immutable values (frozen dataclasses, tuples), and every argument is
        kept alive with its result, so an identity is never reused for another value within a build.
        """
        key: list[Any] = [name]  # asked for several times per page: built by hand, sorted only when it matters
        for arg in sorted(values) if len(values) > 1 else values:
            value = values[arg]
            kind = type(value)
            key += (arg, kind, value if kind in _VALUES else id(value))
        hit = self._fragments.get(key := tuple(key))
        if hit is None:
            hit = self._fragments[key] = (Markup(self.env.get_template(name).render(values)), values)
        return hit[0]

    def link(self, obj: Any, page: int = 1) -> str:
        """Root-relative link under the base path, so a sub-path site works on any host."""
        if type(obj) is date and page == 1:  # a story's day, linked from its page and cards: formatted once per day
            url = self._days.get(obj)
            if url is None:
                url = self._days[obj] = self.link_path(url_for(obj))
            return url
        return self.link_path(url_for(obj, page))

    def asset(self, path: str) -> str:
        """The link to a file of static/ under its fingerprinted name ("css/site.css" -> ".../site.3f2a9c1b.css")."""
        return f"{self._base_path}static/{self.assets.published_name(path)}"

    def stylesheets(self) -> tuple[str, ...]:
        """What every page links, in cascade order: the theme's stylesheet, the one generated from
        site.yaml (provider colours, when it sets any), then the user's ``stylesheets``."""
        generated = tuple(path for path in self.assets.generated if path.endswith(".css"))
        return ("css/site.css", *generated, *self.config.stylesheets)

    def absolute(self, site_path: str) -> str:
        """Absolute URL of a link made by :meth:`link` (for canonical URLs and sharing tags)."""
        base = self.config.base_url
        return base + site_path.removeprefix(self._base_path)

    def human_date(self, moment: datetime) -> str:
        return self._local_times(moment)[1]

    def iso_date(self, moment: datetime) -> str:
        return self._local_times(moment)[0]

    def _local_times(self, moment: datetime) -> tuple[str, str]:
        """A moment in the site's time zone, as ISO 8601 and for readers: a story's time is printed on
        its page, its cards and the related entries that link it, and worked out once per process.

        Equal moments are the same instant, except that within one zone equality ignores ``fold``
        (the first or second 02:30 of a night the clocks go back): it is part of the key.
        """
        key = (moment, moment.fold)
        texts = self._times.get(key)
        if texts is None:
            local = moment.astimezone(self._tz)
            human = f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local.hour:02d}:{local.minute:02d}"
            texts = self._times[key] = (local.isoformat(), human)
        return texts

    def inputs(self) -> tuple[Any, ...]:
        """Everything besides the page and its templates that rendering reads: part of every page fingerprint.

        A new Jinja global or filter that reads state must add that state here, or pages that
        depend on it would not be rendered again when it changes.
        """
        pictures = self.pictures
        return (self.config, self.assets.names, pictures.mode, dict(pictures.catalog), str(pictures.variants_dir))

    def template_digest(self, name: str) -> bytes:
        """Hash of a template and every template it extends, includes or imports, for page fingerprints.

        A template that names another with an expression (not a literal) could load any of them,
        so it depends on the whole theme. Syntax errors surface here, before anything is rendered.
        """
        if name not in self._digests:
            digest = hashlib.blake2b(digest_size=16)
            for dependency, source in sorted(self._dependencies(name).items()):
                digest.update(f"{dependency}\0{source}\0".encode())
            self._digests[name] = digest.digest()
            if self._cache:
                self._cache.save()  # once per template, with what its closure parsed
        return self._digests[name]

    def compile(self, names: Iterable[str]) -> None:
        """Compile these templates and every template they use now, before render workers are
        forked: they then share the compiled code instead of each compiling it again."""
        for name in set(names):
            for dependency in self._dependencies(name):
                self.env.get_template(dependency)

    def _dependencies(self, name: str) -> dict[str, str]:
        """A template and every template it uses, with their sources; worked out once per template."""
        if name not in self._closures:
            self._closures[name] = self._closure(name)
        return self._closures[name]

    def _closure(self, name: str) -> dict[str, str]:
        found: dict[str, str] = {}
        todo = [name]
        while todo:
            current = todo.pop()
            if current in found:
                continue
            source, filename = self._source(current)
            found[current] = source
            referenced = self._cache.references(current, source) if self._cache else None
            if referenced is None:
                referenced = tuple(_referenced_templates(self.env.parse(source, current, filename)))
                if self._cache:
                    self._cache.remember(current, source, referenced)
            if None in referenced:
                return {template: self._source(template)[0] for template in self.env.list_templates()}
            todo.extend(referenced)
        return found

    def _source(self, name: str) -> tuple[str, str | None]:
        source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        return source, filename

    def render(self, page: Page) -> bytes:
        template = self.env.get_template(page.template)
        return template.render(page_url=self.link_path(page.url), **page.context).encode("utf-8")

    def link_path(self, url: str) -> str:
        """A site-relative URL ("/topics/ai/") as a link under the base path."""
        return self._base_path + url.lstrip("/")


class _Context(Context):
    """Jinja's template context, with a shortcut for the functions the renderer gives the templates.

    Jinja checks every function a template calls for a context argument, which costs a microsecond
    per call: at 10,000 articles, 300,000 calls of ``link``, ``fragment``, ``picture`` and ``asset``,
    none of which takes one. Those are called at once; anything else goes through Jinja's own check.
    """

    @internalcode
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if type(__obj) is MethodType and __obj.__func__ in _PLAIN_GLOBALS:
            kwargs.pop("_block_vars", None)  # what Jinja passes for a function that takes the context
            kwargs.pop("_loop_vars", None)
            return __obj(*args, **kwargs)
        return super().call(__obj, *args, **kwargs)


_PLAIN_GLOBALS = frozenset({Renderer.link, Renderer.asset, Renderer.fragment, Pictures.picture})


def _escape_output(value: Any) -> str:
    """What a compiled template prints for ``{{ value }}``: the text of ``markupsafe.escape(value)``.

    Jinja wraps every printed value in ``escape()``, which builds a Markup object for each (about
    a million per 10,000-article build). Jinja only joins what it prints into the page (or into a
    buffer it marks safe itself: a macro, a ``set`` block), so the escaped text is all it needs:
    a plain string escapes in one C call, Markup prints as it is, an int as its digits, anything
    else goes to ``escape``.
    """
    kind = type(value)
    if kind is str:
        return _escape_inner(value)
    if kind is Markup:
        return value
    if kind is int:
        return str(value)
    return escape(value)


class _Template(jinja2.Template):
    """A compiled template that prints values with :func:`_escape_output`."""

    @classmethod
    def from_code(cls, environment: jinja2.Environment, code: CodeType, globals: MutableMapping[str, Any],
                  uptodate: Callable[[], bool] | None = None) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The compiled module's namespace, where its code looks up the ``escape`` it imported.
        template.root_render_func.__globals__["escape"] = _escape_output
        return template


class _Environment(jinja2.Environment):
    """Jinja's environment with the cheaper context and printing above, and each template's
    globals in a plain dict."""

    context_class = _Context
    template_class = _Template

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals over the environment's, copied into one dict rather than chained
        (Jinja's ChainMap): every context made (a page, an include, a fragment) lists them, ten times
        slower through a ChainMap. The renderer sets its globals before any template is loaded."""
        return {**self.globals, **(d or {})}


def _referenced_templates(ast: nodes.Template) -> Iterator[str | None]:
    """Templates a template extends, includes, imports or prints with ``fragment()``; None for a
    name given by an expression, which could be any template."""
    yield from jinja2.meta.find_referenced_templates(ast)
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "fragment":
            first = call.args[0] if call.args else None
            literal = isinstance(first, nodes.Const) and isinstance(first.value, str)
            yield first.value if literal else None


class TemplateCache:
    """Compiled templates and the templates each one uses, kept between builds under ``cache_dir/templates``.

    Compiling the theme and parsing it for its dependencies (:meth:`Renderer.template_digest`)
    cost a tenth of a second on every build, however few pages it renders. The compiled code is
    kept through Jinja's bytecode cache interface, checked against the template's source; the
    dependencies are kept by a hash of the template's name and source. Both live in a folder
    named after the generator (its version and source: a new one may compile differently), and
    older folders are removed. Deleting it only makes the next build compile again.
    """

    def __init__(self, folder: Path) -> None:
        self.bytecode = _CheckedBytecodeCache(folder)
        self._path = folder / "references"
        self._references = _load_references(self._path)
        self._unsaved = False

    @classmethod
    def open(cls, cache_dir: Path) -> TemplateCache | None:
        """The cache of this generator under ``cache_dir``; None when it cannot be made (read-only)."""
        root = cache_dir / "templates"
        folder = root / GENERATOR
        try:
            if not folder.is_dir():
                shutil.rmtree(root, ignore_errors=True)  # another generator's
                folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return cls(folder)

    def references(self, name: str, source: str) -> tuple[str | None, ...] | None:
        return self._references.get(_template_key(name, source))

    def remember(self, name: str, source: str, referenced: tuple[str | None, ...]) -> None:
        self._references[_template_key(name, source)] = referenced
        self._unsaved = True

    def save(self) -> None:
        """Write the dependencies when some were parsed since the last save."""
        if not self._unsaved:
            return
        try:
            write_blob(self._path, "", marshal.dumps(self._references))
        except OSError:
            pass  # a read-only cache folder costs the parsing again next time, nothing else
        self._unsaved = False


def _template_key(name: str, source: str) -> bytes:
    return hashlib.blake2b(f"{name}\0{source}".encode(), digest_size=16).digest()


def _load_references(path: Path) -> dict[bytes, tuple[str | None, ...]]:
    payload = read_blob(path, "")
    try:
        value = marshal.loads(payload) if payload is not None else {}
    except (EOFError, ValueError, TypeError):  # a payload that passed its checksum: only a safety net
        value = {}
    return value if isinstance(value, dict) else {}


class _CheckedBytecodeCache(jinja2.BytecodeCache):
    """Jinja's bytecode cache in files written like the build cache's (:func:`~digest.cache.write_blob`):
    atomically and with a checksum. Jinja's own files check the template's source but not the code,
    so a damaged one could run altered code; here it is compiled again instead."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load_bytecode(self, bucket: Bucket) -> None:
        payload = read_blob(self.folder / bucket.key, "")
        if payload is not None:
            bucket.bytecode_from_string(bytes(payload))  # a source whose checksum differs leaves the bucket empty

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            write_blob(self.folder / bucket.key, "", bucket.bytecode_to_string())
        except OSError:
            pass  # a read-only cache folder costs the compiling again next time, nothing else
