"""Typed, immutable records of what an article file says, after validation.

Only the fields the site uses are kept: unknown keys and the private ``secured``
blob never get this far, so no later stage can leak them.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Provider:
    """The outlet that published a story, keyed by its domain."""

    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class Image:
    """A remote image; ``url`` is always an absolute http(s) URL."""

    url: str
    width: int | None = None
    height: int | None = None
    alt: str = ""


@dataclass(frozen=True, slots=True)
class Story:
    """A related story as the content lists it (it may or may not be an article we have)."""

    title: str
    web_url: str | None
    excerpt: str = ""
    published: datetime | None = None
    provider: Provider | None = None
    image: Image | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """One article file, validated. ``source`` is its path relative to the content folder."""

    source: str
    title: str
    published: datetime
    web_url: str
    provider: Provider
    excerpt: str = ""
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    type: str = "article"
    category: str = ""
    quality: int | None = None
    heat: int | None = None
    draft: bool = False
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Story, ...] = ()
    body_html: str = ""

    @property
    def image(self) -> Image | None:
        """The lead image: the first one with a usable URL (validation already dropped the rest)."""
        return self.images[0] if self.images else None


@functools.cache
def fields_getter(cls: type) -> Callable[[Any], tuple[Any, ...]] | None:
    """A fast C getter of a dataclass's field values as a tuple (None for other classes)."""
    if not dataclasses.is_dataclass(cls):
        return None
    names = [f.name for f in dataclasses.fields(cls)]
    if len(names) == 1:
        return lambda obj: (getattr(obj, names[0]),)
    return operator.attrgetter(*names) if names else lambda obj: ()


def dataclass_reducers(*classes: type) -> dict[type, Callable[[Any], tuple[Any, ...]]]:
    """Pickle these frozen dataclasses as constructor calls: several times faster than their getstate.

    For a pickler's ``dispatch_table``: the build cache saves records with it, and parse
    workers send their articles back with it.
    """
    reducers = {}
    for cls in classes:
        getter = fields_getter(cls)
        assert getter is not None
        reducers[cls] = lambda obj, cls=cls, getter=getter: (cls, getter(obj))
    return reducers
