"""Which image a card, an article or a related link shows, and how: decided here, printed by
``templates/partials/picture.html``.

The choice follows the ``images`` setting: ``remote`` links the publisher's file, ``local``
only ever shows our own resized copies (made by ``python build.py images``), and ``auto``
shows our copies where the cache has them and the publisher's file otherwise. An image the
cache knows to be broken is passed over for the next one; with none left the provider's
placeholder panel shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .imagecache import Entry, ImageCache, Variant
from .model import Image
from .pages import image_url
from .site import Post, PostLink, ProviderRef, RelatedLink, Site

_MIME = {"avif": "image/avif", "webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class Slot:
    """Where an image sits: its ``sizes`` hint, the width the plain ``src`` should have, and the
    narrowest image that still fills it without visible stretching (half its 1x width)."""

    sizes: str
    fallback_width: int
    min_width: int


SLOTS = {
    "card": Slot("(min-width: 38rem) 50vw, 100vw", 640, 160),
    "story": Slot("(min-width: 44rem) 42rem, 100vw", 960, 336),
    "thumb": Slot("88px", 320, 44),
}


@dataclass(frozen=True, slots=True)
class Source:
    type: str
    srcset: str


@dataclass(frozen=True, slots=True)
class Picture:
    """Everything the partial prints; ``src`` is None when only the placeholder panel shows."""

    slot: str
    monogram: str
    palette: str
    logo: str | None = None  # the provider's logo under static/ (site.yaml): the panel shows it, not the monogram
    src: str | None = None
    alt: str = ""
    width: int | None = None
    height: int | None = None
    srcset: str = ""
    sizes: str = ""
    sources: tuple[Source, ...] = ()
    eager: bool = False
    small: bool = False  # much narrower than its slot: shown at its own size, not stretched


def load_catalog(root: Path | None) -> dict[str, Entry]:
    """The cache manifest as the build needs it: good entries keep only variants whose file exists."""
    if root is None:
        return {}
    cache = ImageCache(root)
    catalog = {}
    for url, entry in cache.load().items():
        if entry.ok:
            variants = tuple(v for v in entry.variants if (cache.variants / v.file).is_file())
            entry = Entry(url, True, width=entry.width, height=entry.height, bytes=entry.bytes, variants=variants)
        catalog[url] = entry
    return catalog


class Pictures:
    """Decides every image on the site from the content, the ``images`` mode and the cache catalog."""

    def __init__(self, mode: str, catalog: Mapping[str, Entry], cache_root: Path | None,
                 link_path: Callable[[str], str]) -> None:
        self.mode = mode
        self.catalog = catalog if mode != "remote" else {}
        self.variants_dir = ImageCache(cache_root).variants if cache_root else None
        self.link_path = link_path

    def picture(self, item: Post | RelatedLink, slot: str = "card", eager: bool = False) -> Picture:
        """The Jinja global ``picture(post_or_link, slot, eager)``."""
        title, images, provider = _describe(item)
        chosen = self._choose(images)
        # The placeholder panel's fields, given whole to each Picture (dataclasses.replace costs more than the rest).
        panel = (slot, provider.monogram, provider.palette, provider.logo)
        if chosen is None:
            return Picture(*panel)
        image, entry = chosen
        spec = SLOTS[slot]
        alt = image.alt or f"Image for: {title}"
        if entry is None:
            known = image.width is not None and image.height is not None
            return Picture(
                *panel, src=image.url, alt=alt,
                width=image.width if known else None, height=image.height if known else None,
                eager=eager, small=known and image.width < spec.min_width,
            )
        by_format: dict[str, list[Variant]] = {}
        for variant in sorted(entry.variants, key=lambda v: v.width):
            by_format.setdefault(variant.format, []).append(variant)
        webp = by_format["webp"]
        others = sorted((f, vs) for f, vs in by_format.items() if f != "webp")
        if entry.width < spec.min_width:
            # Shown at its own size: width descriptors would make the browser scale it to `sizes`.
            return Picture(
                *panel, src=self._href(webp[-1]), alt=alt,
                width=entry.width, height=entry.height, eager=eager, small=True,
                sources=tuple(Source(_MIME[f], self._href(vs[-1])) for f, vs in others),
            )
        fallback = next((v for v in webp if v.width >= spec.fallback_width), webp[-1])
        return Picture(
            *panel, src=self._href(fallback), alt=alt,
            width=entry.width, height=entry.height, srcset=self._srcset(webp), sizes=spec.sizes,
            sources=tuple(Source(_MIME[f], self._srcset(vs)) for f, vs in others), eager=eager,
        )

    def files(self, site: Site) -> list[tuple[str, Path]]:
        """(output path, cached file) for every variant a page of ``site`` can reference, sorted.

        Worked out from the site model, not from the rendered pages, so it stays right
        whichever pages a build renders.
        """
        if self.variants_dir is None or not self.catalog:
            return []  # no cached copy to publish: no `images` run yet, or `remote` mode
        # A link to one of our posts shows that post's image, which site.posts already counts:
        # only links to other sites' stories can add one (at 10,000 posts, 50,000 links less to walk).
        items: list[Post | RelatedLink] = list(site.posts)
        for links in site.related.values():
            items.extend(link for link in links if link.post is None)
        names = set()
        for item in items:
            chosen = self._choose(_describe(item)[1])
            if chosen and chosen[1] is not None:
                names.update(v.file for v in chosen[1].variants)
        return [(image_url(name).lstrip("/"), self.variants_dir / name) for name in sorted(names)]

    def _choose(self, images: Iterable[Image]) -> tuple[Image, Entry | None] | None:
        """The first usable image: cached copies where allowed, never one the cache saw fail."""
        for image in images:
            entry = self.catalog.get(image.url)
            if entry is not None and entry.ok and any(v.format == "webp" for v in entry.variants):
                return image, entry
            if entry is not None and not entry.ok:
                continue
            if self.mode != "local":
                return image, None
        return None

    def _href(self, variant: Variant) -> str:
        return self.link_path(image_url(variant.file))

    def _srcset(self, variants: list[Variant]) -> str:
        return ", ".join(f"{self._href(v)} {v.width}w" for v in variants)


def _describe(item: Post | RelatedLink) -> tuple[str, tuple[Image, ...], ProviderRef]:
    """Title, candidate images and the provider (for the placeholder) of a post or a related link."""
    if isinstance(item, PostLink):
        item = item.post
    if isinstance(item, Post):
        return item.title, item.article.images, item.provider
    return item.title, (item.image,) if item.image else (), item.provider or ProviderRef("", "", "?")
