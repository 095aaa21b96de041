"""Model stage: from validated articles, the site: topics, providers, slugs, related links, rankings.

Pure functions of the articles and the config, no I/O, so they are cheap to rerun in
full on every build and every page always sees consistent cross-page data.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .config import Config
from .content import Problem
from .model import Article, Image, Provider, Story

SLUG_MAX = 80
_RESERVED = {"con", "prn", "aux", "nul", "index", "page", "feed", "static", "topics", "providers"}
_RESERVED |= {f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)}
TOP_WINDOW = timedelta(hours=48)


def slugify(text: str, fallback: str) -> str:
    """A safe single path segment: lowercase ASCII letters, digits and single hyphens, capped."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:SLUG_MAX].rstrip("-")
    if not slug:
        slug = f"{fallback}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return f"{slug}-story" if slug in _RESERVED else slug


def topic_key(name: str) -> str:
    """Spelling-insensitive identity of a topic: " ai " and "AI" are one topic."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class TopicRef:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class ProviderRef:
    slug: str
    name: str
    domain: str

    @property
    def monogram(self) -> str:
        return (self.name.strip()[:1] or self.domain[:1] or "?").upper()

    @property
    def palette(self) -> int:
        """Which of the theme's 12 badge colours (all WCAG AA with white text) this provider gets."""
        return int(hashlib.sha1(self.domain.encode()).hexdigest()[:8], 16) % 12


@dataclass(frozen=True, slots=True)
class Post:
    """An article placed in the site: its unique slug, canonical topics and provider."""

    article: Article
    slug: str
    topics: tuple[TopicRef, ...]
    provider: ProviderRef
    day: date  # publication date in the site's time zone

    @property
    def title(self) -> str:
        return self.article.title

    @property
    def published(self) -> datetime:
        return self.article.published


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """A sidebar entry: our own post when we have the story, otherwise the original URL."""

    title: str
    url: str | None
    post: Post | None
    provider: Provider | None
    published: datetime | None
    image: Image | None


@dataclass(frozen=True, slots=True)
class Topic:
    ref: TopicRef
    posts: tuple[Post, ...]


@dataclass(frozen=True, slots=True)
class ProviderPage:
    ref: ProviderRef
    posts: tuple[Post, ...]


@dataclass(frozen=True)
class Site:
    config: Config
    posts: tuple[Post, ...]  # newest first
    top: tuple[Post, ...]
    topics: tuple[Topic, ...]
    providers: tuple[ProviderPage, ...]
    related: dict[str, tuple[RelatedLink, ...]] = field(repr=False)  # by post web_url
    warnings: tuple[Problem, ...] = ()


def newest_first(post: Post) -> tuple[float, str, str]:
    """Sort key: newest first, ties broken by URL then source path so order never depends on I/O."""
    return (-post.published.timestamp(), post.article.web_url, post.article.source)


def _quality_key(article: Article) -> tuple[int, int, float, str]:
    """Which of two articles with the same webUrl to keep: best quality, then heat, then newest."""
    return (-(article.quality or 0), -(article.heat or 0), -article.published.timestamp(), article.source)


def _dedupe(articles: tuple[Article, ...]) -> tuple[list[Article], list[Problem]]:
    by_url: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        by_url[article.web_url].append(article)
    kept, warnings = [], []
    for url in sorted(by_url):
        group = sorted(by_url[url], key=_quality_key)
        kept.append(group[0])
        for dropped in group[1:]:
            warnings.append(Problem(dropped.source, 1, f"same webUrl as {group[0].source}, which is kept; skipped", warning=True))
    return kept, warnings


def _topic_refs(articles: list[Article], config: Config) -> dict[str, TopicRef]:
    """Canonical name (from site.yaml, else the most common spelling) and unique slug per topic key."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for article in articles:
        for name in article.topics:
            spellings[topic_key(name)][" ".join(name.split())] += 1
    configured = {topic_key(name): name for name in config.topics}
    refs: dict[str, TopicRef] = {}
    used: set[str] = set()
    for key in sorted(spellings):
        name = configured.get(key) or min(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        refs[key] = TopicRef(_unique(slugify(name, "topic"), used), name)
    return refs


def _unique(slug: str, used: set[str]) -> str:
    candidate, n = slug, 1
    while candidate in used:
        n += 1
        candidate = f"{slug}-{n}"
    used.add(candidate)
    return candidate


def _provider_refs(articles: list[Article]) -> dict[str, ProviderRef]:
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for article in articles:
        names[article.provider.domain][article.provider.name] += 1
    used: set[str] = set()
    return {
        domain: ProviderRef(
            _unique(slugify(domain, "provider"), used),
            min(names[domain].items(), key=lambda kv: (-kv[1], kv[0]))[0],
            domain,
        )
        for domain in sorted(names)
    }


def _post_slugs(articles: list[Article], days: dict[str, date]) -> dict[str, str]:
    """Unique slug per article within its date folder; collisions get -2, -3 in URL order."""
    used: dict[date, set[str]] = defaultdict(set)
    slugs = {}
    for article in sorted(articles, key=lambda a: (a.web_url, a.source)):
        slugs[article.web_url] = _unique(slugify(article.title, "article"), used[days[article.web_url]])
    return slugs


def _related_links(post: Post, by_url: dict[str, Post], limit: int) -> tuple[RelatedLink, ...]:
    links: list[RelatedLink] = []
    seen = {post.article.web_url}
    for story in post.article.related:
        if story.web_url in seen:
            continue
        if story.web_url:
            seen.add(story.web_url)
        target = by_url.get(story.web_url or "")
        links.append(_link(story, target))
        if len(links) >= limit:
            break
    return tuple(links)


def _link(story: Story, target: Post | None) -> RelatedLink:
    if target is not None:
        article = target.article
        return RelatedLink(article.title, None, target, article.provider, article.published, article.image)
    return RelatedLink(story.title, story.web_url, None, story.provider, story.published, story.image)


def _top_stories(posts: tuple[Post, ...], count: int) -> tuple[Post, ...]:
    """Most important recent stories: within 48 h of the newest article, by heat, then recency."""
    if not posts:
        return ()
    cutoff = posts[0].published - TOP_WINDOW
    recent = [p for p in posts if p.published >= cutoff]
    ranked = sorted(recent, key=lambda p: (-(p.article.heat or 0),) + newest_first(p))
    rest = [p for p in posts if p.published < cutoff]
    return tuple((ranked + rest)[:count])


def build_site(articles: tuple[Article, ...], config: Config) -> Site:
    """Assemble the site model from the loaded articles."""
    kept, warnings = _dedupe(articles)
    topic_refs = _topic_refs(kept, config)
    provider_refs = _provider_refs(kept)
    tz = config.tz
    days = {a.web_url: a.published.astimezone(tz).date() for a in kept}
    slugs = _post_slugs(kept, days)
    posts = tuple(sorted(
        (
            Post(
                article=a,
                slug=slugs[a.web_url],
                topics=tuple(topic_refs[topic_key(t)] for t in a.topics),
                provider=provider_refs[a.provider.domain],
                day=days[a.web_url],
            )
            for a in kept
        ),
        key=newest_first,
    ))
    by_topic: dict[TopicRef, list[Post]] = defaultdict(list)
    by_provider: dict[ProviderRef, list[Post]] = defaultdict(list)
    for post in posts:
        for ref in post.topics:
            by_topic[ref].append(post)
        by_provider[post.provider].append(post)
    order = {topic_key(name): i for i, name in enumerate(config.topics)}
    topics = sorted(
        (Topic(ref, tuple(items)) for ref, items in by_topic.items()),
        key=lambda t: (order.get(topic_key(t.ref.name), len(order)), -len(t.posts), t.ref.slug),
    )
    providers = sorted(
        (ProviderPage(ref, tuple(items)) for ref, items in by_provider.items()),
        key=lambda p: p.ref.slug,
    )
    by_url = {post.article.web_url: post for post in posts}
    related = {post.article.web_url: _related_links(post, by_url, config.related_count) for post in posts}
    return Site(
        config=config,
        posts=posts,
        top=_top_stories(posts, config.home_top),
        topics=tuple(topics),
        providers=tuple(providers),
        related=related,
        warnings=tuple(warnings),
    )
