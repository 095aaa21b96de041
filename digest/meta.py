"""Sharing metadata: what each page tells link previews (Open Graph, Twitter card), search
engines (JSON-LD) and feed readers (``<link rel="alternate">``).

Decided here, in Python, and only printed by ``templates/partials/meta.html``. The JSON-LD is
serialised here too, with ``<``, ``>`` and ``&`` escaped as ``\\u003c``, ``\\u003e``, ``\\u0026``,
so no string from content can close the ``<script>`` element it is printed in.

The plan keeps what a page's graph says (a ``*Graph`` record: the post, the URLs, the names)
and the text is written only when the page is rendered: a page's fingerprint hashes its context
(see incremental.py), so the record is all it needs, and a rebuild that renders a few pages
writes a few graphs, not one per page. The text is written by hand rather than by ``json.dumps``:
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
from typing import ClassVar

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


@dataclass(frozen=True, slots=True)
class ArticleGraph:
    """An article page's JSON-LD: a NewsArticle that credits the provider and the original, and its breadcrumbs."""

    post: Post
    url: str  # the page's absolute URL
    trail: tuple[tuple[str, str], ...]  # breadcrumbs: (name, absolute URL)
    config: Config

    def nodes(self) -> tuple[str, ...]:
        article = self.post.article
        url = self.url
        provider = _organization(self.post.provider.name, self.post.provider.domain)
        published = _text(_iso(article.published, self.config))
        members = [
            f'"@type": "NewsArticle", "@id": {_text(url + "#article")}, "mainEntityOfPage": {_text(url)}, '
            f'"headline": {_text(article.title)}, "datePublished": {published}, "dateModified": {published}, '
            f'"inLanguage": {_text(self.config.language)}, "author": {provider}, "publisher": {provider}, '
            f'"isBasedOn": {_text(article.web_url)}, "url": {_text(article.web_url)}'
        ]
        if article.excerpt:
            members.append(f'"description": {_text(article.excerpt)}')
        if article.image:
            members.append(f'"image": [{_image(article.image)}]')
        if self.post.topics:
            members.append(f'"articleSection": {_array(_text(topic.name) for topic in self.post.topics)}')
        return f"{{{', '.join(members)}}}", _breadcrumbs(self.trail)


@dataclass(frozen=True, slots=True)
class CollectionGraph:
    """A list page's JSON-LD: a CollectionPage whose ItemList holds the stories it shows, and its breadcrumbs."""

    url: str  # the page's absolute URL
    name: str
    language: str
    first_position: int  # the rank of its first story, across pages
    items: tuple[str, ...]  # the stories' absolute URLs
    trail: tuple[tuple[str, str], ...]

    def nodes(self) -> tuple[str, ...]:
        url = _text(self.url)
        items = _array(f'{{"@type": "ListItem", "position": {position:d}, "url": {_text(item)}}}'
                       for position, item in enumerate(self.items, start=self.first_position))
        collection = (
            f'{{"@type": "CollectionPage", "@id": {url}, "url": {url}, "name": {_text(self.name)}, '
            f'"inLanguage": {_text(self.language)}, "mainEntity": {{"@type": "ItemList", "itemListElement": {items}}}}}'
        )
        return collection, _breadcrumbs(self.trail)


@dataclass(frozen=True, slots=True)
class WebsiteGraph:
    """The home page's JSON-LD: the WebSite."""

    url: str
    name: str
    description: str
    language: str

    def nodes(self) -> tuple[str, ...]:
        url = _text(self.url)
        return (f'{{"@type": "WebSite", "@id": {url}, "url": {url}, "name": {_text(self.name)}, '
                f'"description": {_text(self.description)}, "inLanguage": {_text(self.language)}}}',)


class _Tags:
    """What the tags derive alike from both kinds of sharing metadata."""

    __slots__ = ()
    image: Image | None
    graph: ArticleGraph | CollectionGraph | WebsiteGraph | None

    @property
    def twitter_card(self) -> str:
        return "summary_large_image" if self.image else "summary"

    @property
    def json_ld(self) -> Markup | None:
        """The graph as JSON-LD text, written now: only pages being rendered ask."""
        return json_ld(*self.graph.nodes()) if self.graph else None


@dataclass(frozen=True)
class Sharing(_Tags):
    og_type: str  # "website" or "article"
    image: Image | None = None
    published: datetime | None = None
    section: str | None = None
    feeds: tuple[FeedLink, ...] = ()
    graph: ArticleGraph | CollectionGraph | WebsiteGraph | None = None


@dataclass(frozen=True, slots=True)
class ArticleSharing(_Tags):
    """An article page's sharing metadata: og:type=article, and its section, time and lead image.

    Everything but the feeds is read from the graph's post when the page is rendered, so the plan
    keeps (and a page fingerprint hashes) a reference to the post, not copies of its image and date.
    """

    graph: ArticleGraph
    feeds: tuple[FeedLink, ...]
    og_type: ClassVar[str] = "article"

    @property
    def image(self) -> Image | None:
        return self.graph.post.article.image

    @property
    def published(self) -> datetime:
        return self.graph.post.article.published

    @property
    def section(self) -> str | None:
        topics = self.graph.post.topics
        return topics[0].name if topics else None


def json_ld(*nodes: str) -> Markup:
    """One JSON-LD graph of nodes (JSON objects as text), safe to print verbatim inside
    ``<script type="application/ld+json">``."""
    graph = f'{{"@context": "https://schema.org", "@graph": {_array(nodes)}}}'
    return Markup(graph.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def article_sharing(post: Post, config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> ArticleSharing:
    url = locate(post)
    home = (config.title, locate("home"))
    page = (post.article.title, url)
    if post.topics:
        topic = post.topics[0]
        return ArticleSharing(ArticleGraph(post, url, (home, (topic.name, locate(topic)), page), config), feeds)
    return ArticleSharing(ArticleGraph(post, url, (home, page), config), feeds)


def collection_sharing(owner: TopicRef | ProviderRef | PeriodRef, name: str, posts: Sequence[Post], first_position: int, page: int,
                       config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    """A topic, provider or day page: the stories it shows, numbered across pages (``first_position``
    is the rank of its first story)."""
    trail = ((config.title, locate("home")), (name, locate(owner)))
    graph = CollectionGraph(locate(owner, page), name, config.language, first_position,
                            tuple(map(locate, posts)), trail)
    return Sharing(og_type="website", image=_first_image(posts), feeds=feeds, graph=graph)


def home_sharing(posts: Sequence[Post], config: Config, locate: Locate, feeds: tuple[FeedLink, ...]) -> Sharing:
    graph = WebsiteGraph(locate("home"), config.title, config.description, config.language)
    return Sharing(og_type="website", image=_first_image(posts), feeds=feeds, graph=graph)


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
