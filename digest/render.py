"""Render stage: one Jinja environment (autoescape on, strict undefined); ``render(page) -> bytes``.

Rendering is a pure function of the page and the templates, so the same input always
gives the same bytes and pages can be rendered in any order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from .assets import Assets
from .config import Config
from .imagecache import Entry
from .pages import Page, url_for
from .theme import template_loader
from .pictures import Pictures

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class Renderer:
    """Turns pages into HTML bytes with the site's templates."""

    def __init__(self, templates_dir: Path | None, config: Config, assets: Assets,
                 images: Mapping[str, Entry] | None = None, image_cache: Path | None = None) -> None:
        self.config = config
        self.assets = assets
        self.pictures = Pictures(config.images, images or {}, image_cache, self.link_path)
        self.env = jinja2.Environment(
            loader=template_loader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            human_date=self.human_date, iso_date=self.iso_date, absolute=self.absolute, href=self.link_path
        )
        self.env.globals.update(link=self.link, asset=self.asset, config=config, picture=self.pictures.picture)
        self._digests: dict[str, bytes] = {}

    def link(self, obj: Any, page: int = 1) -> str:
        """Root-relative link under the base path, so a sub-path site works on any host."""
        return self.link_path(url_for(obj, page))

    def asset(self, path: str) -> str:
        """The link to a file of static/ under its fingerprinted name ("css/site.css" -> ".../site.3f2a9c1b.css")."""
        return f"{self.config.base_path}static/{self.assets.published_name(path)}"

    def absolute(self, site_path: str) -> str:
        """Absolute URL of a link made by :meth:`link` (for canonical URLs and sharing tags)."""
        base = self.config.base_url
        return base + site_path.removeprefix(self.config.base_path)

    def human_date(self, moment: datetime) -> str:
        local = moment.astimezone(self.config.tz)
        return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"

    def iso_date(self, moment: datetime) -> str:
        return moment.astimezone(self.config.tz).isoformat()

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
            for dependency in sorted(self._closure(name)):
                digest.update(f"{dependency}\0{self._source(dependency)[0]}\0".encode())
            self._digests[name] = digest.digest()
        return self._digests[name]

    def _closure(self, name: str) -> set[str]:
        found, todo = set(), [name]
        while todo:
            current = todo.pop()
            if current in found:
                continue
            found.add(current)
            source, filename = self._source(current)
            for referenced in jinja2.meta.find_referenced_templates(self.env.parse(source, current, filename)):
                if referenced is None:
                    return set(self.env.list_templates())
                todo.append(referenced)
        return found

    def _source(self, name: str) -> tuple[str, str | None]:
        source, filename, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        return source, filename

    def render(self, page: Page) -> bytes:
        template = self.env.get_template(page.template)
        return template.render(page_url=self.link_path(page.url), **page.context).encode("utf-8")

    def link_path(self, url: str) -> str:
        """A site-relative URL ("/topics/ai/") as a link under the base path."""
        return self.config.base_path + url.lstrip("/")
