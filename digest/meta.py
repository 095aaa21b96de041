"""Sharing metadata: what each page tells link previews (Open Graph, Twitter card), search
engines (JSON-LD) and feed readers (``<link rel="alternate">``).

Decided here, in Python, and only printed by ``templates/partials/meta.html``. The JSON-LD is
serialised here too, with ``<``, ``>`` and ``&`` escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``,
so no string from content can close the ``<script>`` element it is printed in.

A page's recipe (pages.py) calls these only when the page is rendered (its fingerprint hashes
the recipe's inputs, not what they derive), so a rebuild that renders a few pages writes a few
graphs, not one per page. The text is written by hand rather than by ``json.dumps``:
the keys are fixed text, every string value goes through the encoder ``json.dumps`` itself uses,
numbers are ints, and the layout (``", "`` and ``": "``) is ``json.dumps``'s, so the bytes are
the same as it would write (tests/test_meta.py checks that).

This module does not import the URL scheme: the plan (pages.py) hands it a ``locate`` function
that gives the absolute URL of a post, topic, provider or named page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from .archive import PeriodRef
from .config import Config
from .model import Image
from .site import Post, ProviderRef, TopicRef

Locate = Callable[..., str]  # locate(obj, page=1) -> absolute URL
_text = json.encoder.encode_basestring  # a JSON string, exactly as json.dumps(..., ensure_ascii=False) writes it


@dataclass(frozen=True)
class FeedLink:
    """A ``<link rel="alternate">`` to a feed; ``url`` is site-relative."""

    url: str
    type: str
    title: str


@dataclass(frozen=True)
class Sharing:
    """A page's sharing tags, as ``partials/meta.html`` prints them."""

    og_type: str  # "website" or "article"
    image: Image | None = None
    published: datetime | None = None
    section: str | None = None
    feeds: tuple[FeedLink, ...] = ()
    json_ld: Markup | None = None  # the page's JSON-LD graph, ready to print inside its <script>

    @property
    def twitter_card(self) -> str:
        return "summary_large_image" if self.image else "summary"


def json_ld(*nodes: str) -> Markup:
    """One JSON-LD graph of nodes (JSON objects as text), safe to print verbatim inside
    ``<script type="application/ld+json">``."""
    graph = f'{{"@context": "https://schema.org", "@graph": {_array(nodes)}}}'
    return Markup(graph.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def article_sharing(post: Post, config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    """An article page: og:type=article, its section, time and lead image, and a NewsArticle that
    credits the provider and the original, with its breadcrumbs."""
    article = post.article
    url = locate(post)
    trail = ((config.title, locate("home")),
             *(((post.topics[0].name, locate(post.topics[0])),) if post.topics else ()),
             (article.title, url))
    provider = _organization(post.provider.name, post.provider.domain)
    published = _text(_iso(article.published, config))
    members = [
        f'"@type": "NewsArticle", "@id": {_text(url + "#article")}, "mainEntityOfPage": {_text(url)}, '
        f'"headline": {_text(article.title)}, "datePublished": {published}, "dateModified": {published}, '
        f'"inLanguage": {_text(config.language)}, "author": {provider}, "publisher": {provider}, '
        f'"isBasedOn": {_text(article.web_url)}, "url": {_text(article.web_url)}'
    ]
    if article.excerpt:
        members.append(f'"description": {_text(article.excerpt)}')
    if article.image:
        members.append(f'"image": [{_image(article.image)}]')
    if post.topics:
        members.append(f'"articleSection": {_array(_text(topic.name) for topic in post.topics)}')
    graph = json_ld(f"{{{', '.join(members)}}}", _breadcrumbs(trail))
    return Sharing("article", article.image, article.published, post.topics[0].name if post.topics else None, feeds, graph)


def collection_sharing(owner: TopicRef | ProviderRef | PeriodRef, name: str, posts: Sequence[Post], page: int,
                       config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    """Page ``page`` of a topic, provider or day list: a CollectionPage whose ItemList holds the
    stories it shows, numbered across the list's pages of ``config.page_size``, and its breadcrumbs."""
    url = _text(locate(owner, page))
    items = _array(f'{{"@type": "ListItem", "position": {position:d}, "url": {_text(locate(post))}}}'
                   for position, post in enumerate(posts, start=(page - 1) * config.page_size + 1))
    collection = (
        f'{{"@type": "CollectionPage", "@id": {url}, "url": {url}, "name": {_text(name)}, '
        f'"inLanguage": {_text(config.language)}, "mainEntity": {{"@type": "ItemList", "itemListElement": {items}}}}}'
    )
    trail = ((config.title, locate("home")), (name, locate(owner)))
    return Sharing("website", image=_first_image(posts), feeds=feeds, json_ld=json_ld(collection, _breadcrumbs(trail)))


def home_sharing(posts: Sequence[Post], config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    """The home page: the WebSite."""
    url = _text(locate("home"))
    website = (f'{{"@type": "WebSite", "@id": {url}, "url": {url}, "name": {_text(config.title)}, '
               f'"description": {_text(config.description)}, "inLanguage": {_text(config.language)}}}')
    return Sharing("website", image=_first_image(posts), feeds=feeds, json_ld=json_ld(website))


def _breadcrumbs(trail: Sequence[tuple[str, str]]) -> str:
    items = _array(f'{{"@type": "ListItem", "position": {i:d}, "name": {_text(name)}, "item": {_text(url)}}}'
                   for i, (name, url) in enumerate(trail, start=1))
    return f'{{"@type": "BreadcrumbList", "itemListElement": {items}}}'


def _organization(name: str, domain: str) -> str:
    return f'{{"@type": "Organization", "name": {_text(name)}, "url": {_text(f"https://{domain}/")}}}'


def _image(image: Image) -> str:
    if image.width and image.height:
        return f'{{"@type": "ImageObject", "url": {_text(image.url)}, "width": {image.width:d}, "height": {image.height:d}}}'
    return f'{{"@type": "ImageObject", "url": {_text(image.url)}}}'


def _array(items: Iterable[str]) -> str:
    """A JSON array of values already written as JSON."""
    return f"[{', '.join(items)}]"


def _first_image(posts: Sequence[Post]) -> Image | None:
    """The lead image of the first story that has one: what a link preview of a list page shows."""
    return next((post.article.image for post in posts if post.article.image), None)


def _iso(moment: datetime, config: Config) -> str:
    """The same ISO 8601 time the page's ``<time>`` elements carry (site time zone)."""
    return moment.astimezone(config.tz).isoformat()
