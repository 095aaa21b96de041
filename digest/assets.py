"""Static assets published under content-hashed names, so hosts can cache them forever.

``static/css/site.css`` is published as ``static/css/site.3f2a9c1b.css`` and templates ask
``asset("css/site.css")`` for that name. ``url(...)`` references inside CSS files are rewritten
to the hashed names before the CSS itself is hashed, so changing an image a stylesheet uses
also renames the stylesheet. HTML pages keep their names: they are what changes in place.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

HASH_LENGTH = 8
_CSS_URL = re.compile(r"""url\(\s*(?P<quote>['"]?)(?P<ref>[^'")]+?)(?P=quote)\s*\)""")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|/|#)")  # data:, https:, //host, /root, #fragment
_PATH_AND_SUFFIX = re.compile(r"([^?#]*)(.*)", re.DOTALL)  # "img/a.svg#icon" -> ("img/a.svg", "#icon")


class AssetError(jinja2.TemplateRuntimeError):
    """A template asked for a file that is not in static/: a template error (exit status 2)."""


@dataclass(frozen=True)
class Assets:
    """The published names of the files in ``static/`` and their (rewritten) bytes."""

    names: dict[str, str]  # "css/site.css" -> "css/site.3f2a9c1b.css"
    files: tuple[tuple[str, bytes], ...]  # (output path, bytes), output path under "static/"
    generated: tuple[str, ...] = ()  # paths of the files the build made (not read from a folder)

    def published_name(self, path: str) -> str:
        try:
            return self.names[path]
        except KeyError:
            raise AssetError(f"asset({path!r}): no such file in static/") from None


def load_assets(*folders: Path, prefix: str = "static", generated: Mapping[str, bytes] | None = None) -> Assets:
    """Read the ``folders`` (hidden files skipped) and name every file after a hash of its content.

    A file in an earlier folder replaces one of the same path in a later folder: the user's
    static folder comes first, the default theme's last. ``generated`` files (path -> bytes,
    made by the build from site.yaml) replace any file of the same path.
    """
    sources: dict[str, bytes] = {}
    for folder in reversed(folders):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder).as_posix()
                if path.is_file() and not any(part.startswith(".") for part in rel.split("/")):
                    sources[rel] = path.read_bytes()
    sources.update(generated or {})
    sources = dict(sorted(sources.items()))
    names: dict[str, str] = {}
    published: dict[str, bytes] = {}

    def publish(rel: str, visiting: frozenset[str]) -> str:
        """Hash ``rel`` after the files its CSS references; the reference that would close an
        @import cycle (``visiting``) stays as written."""
        if rel not in names:
            data = sources[rel]
            if rel.endswith(".css"):
                inner = visiting | {rel}
                data = _rewrite_css(rel, data, lambda target: publish(target, inner)
                                    if target in sources and target not in inner else None)
            names[rel] = _hashed_name(rel, data)
            published[names[rel]] = data
        return names[rel]

    for rel in sources:
        publish(rel, frozenset())
    files = tuple((f"{prefix}/{name}", published[name]) for name in sorted(published))
    return Assets(names=dict(sorted(names.items())), files=files, generated=tuple(sorted(generated or {})))


def _hashed_name(rel: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    folder, name = posixpath.split(rel)
    stem, ext = posixpath.splitext(name)
    return posixpath.join(folder, f"{stem}.{digest}{ext}")


def _rewrite_css(rel: str, data: bytes, publish: Callable[[str], str | None]) -> bytes:
    """Point each relative ``url(...)`` to a file in static/ at its hashed name (keeping any query
    or fragment); external, root-relative and unknown references stay as they are."""
    css_dir = posixpath.dirname(rel)

    def replace(match: re.Match[str]) -> str:
        ref = match.group("ref").strip()
        if _EXTERNAL.match(ref):
            return match.group(0)
        path, suffix = _PATH_AND_SUFFIX.fullmatch(ref).groups()
        hashed = publish(posixpath.normpath(posixpath.join(css_dir, path)))
        if hashed is None:
            return match.group(0)
        quote = match.group("quote")
        return f"url({quote}{posixpath.relpath(hashed, css_dir or '.')}{suffix}{quote})"

    text = data.decode("utf-8", errors="surrogateescape")
    return _CSS_URL.sub(replace, text).encode("utf-8", errors="surrogateescape")
