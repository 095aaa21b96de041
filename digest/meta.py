"""Sharing metadata: what each page tells link previews (Open Graph, Twitter card), search
engines (JSON-LD) and feed readers (``<link rel="alternate">``).

Decided here, in Python, and only printed by ``templates/partials/meta.html``. The JSON-LD is
serialised here too, with ``<``, ``>`` and ``&`` escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``,
so no string from content can close the ``<script>`` element it is printed in.

This module does not import the URL scheme: the plan (pages.py) hands it a ``locate`` function
that gives the absolute URL of a post, topic, provider or named page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from .archive import Period
from .config import Config
from .model import Image
from .site import Post, ProviderPage, Topic

Locate = Callable[..., str]  # locate(obj, page=1) -> absolute URL
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                              "\u2028": "\\u2028", "\u2029": "\\u2029"})


@dataclass(frozen=True)
class FeedLink:
    """A ``<link rel="alternate">`` to a feed; ``url`` is site-relative."""

    url: str
    type: str
    title: str


@dataclass(frozen=True)
class Sharing:
    og_type: str  # "website" or "article"
    image: Image | None = None
    published: datetime | None = None
    section: str | None = None
    feeds: tuple[FeedLink, ...] = ()
    json_ld: Markup | None = None

    @property
    def twitter_card(self) -> str:
        return "summary_large_image" if self.image else "summary"


def json_ld(*nodes: dict[str, Any]) -> Markup:
    """One JSON-LD graph, safe to print verbatim inside ``<script type="application/ld+json">``."""
    data = {"@context": "https://schema.org", "@graph": list(nodes)}
    return Markup(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE))


def article_sharing(post: Post, config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    """An article page: og:type=article and a NewsArticle that credits the provider and the original."""
    article = post.article
    url = locate(post)
    provider = _organization(post.provider.name, post.provider.domain)
    news: dict[str, Any] = {
        "@type": "NewsArticle",
        "@id": url + "#article",
        "mainEntityOfPage": url,
        "headline": article.title,
        "datePublished": _iso(article.published, config),
        "dateModified": _iso(article.published, config),
        "inLanguage": config.language,
        "author": provider,
        "publisher": provider,
        "isBasedOn": article.web_url,
        "url": article.web_url,
    }
    if article.excerpt:
        news["description"] = article.excerpt
    if article.image:
        news["image"] = [_image(article.image)]
    if post.topics:
        news["articleSection"] = [topic.name for topic in post.topics]
    trail = [(config.title, locate("home"))]
    if post.topics:
        trail.append((post.topics[0].name, locate(post.topics[0])))
    trail.append((article.title, url))
    return Sharing(
        og_type="article",
        image=article.image,
        published=article.published,
        section=post.topics[0].name if post.topics else None,
        feeds=feeds,
        json_ld=json_ld(news, _breadcrumbs(trail)),
    )


def collection_sharing(owner: Topic | ProviderPage | Period, name: str, posts: Sequence[Post], first_position: int, page: int,
                       config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    """A topic, provider or day page: a CollectionPage whose ItemList holds the stories it shows,
    numbered across pages (``first_position`` is the rank of its first story)."""
    url = locate(owner, page)
    collection = {
        "@type": "CollectionPage",
        "@id": url,
        "url": url,
        "name": name,
        "inLanguage": config.language,
        "mainEntity": {
            "@type": "ItemList",
            "itemListElement": [
                {"@type": "ListItem", "position": first_position + i, "url": locate(post)}
                for i, post in enumerate(posts)
            ],
        },
    }
    trail = [(config.title, locate("home")), (name, locate(owner))]
    return Sharing(
        og_type="website",
        image=_first_image(posts),
        feeds=feeds,
        json_ld=json_ld(collection, _breadcrumbs(trail)),
    )


def home_sharing(posts: Sequence[Post], config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    url = locate("home")
    website = {"@type": "WebSite", "@id": url, "url": url, "name": config.title,
               "description": config.description, "inLanguage": config.language}
    return Sharing(og_type="website", image=_first_image(posts), feeds=feeds, json_ld=json_ld(website))


def _breadcrumbs(trail: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "name": name, "item": url}
            for i, (name, url) in enumerate(trail, start=1)
        ],
    }


def _organization(name: str, domain: str) -> dict[str, str]:
    return {"@type": "Organization", "name": name, "url": f"https://{domain}/"}


def _image(image: Image) -> dict[str, Any]:
    node: dict[str, Any] = {"@type": "ImageObject", "url": image.url}
    if image.width and image.height:
        node.update(width=image.width, height=image.height)
    return node


def _first_image(posts: Sequence[Post]) -> Image | None:
    """The lead image of the first story that has one: what a link preview of a list page shows."""
    return next((post.article.image for post in posts if post.article.image), None)


def _iso(moment: datetime, config: Config) -> str:
    """The same ISO 8601 time the page's ``<time>`` elements carry (site time zone)."""
    return moment.astimezone(config.tz).isoformat()
