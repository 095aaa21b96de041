"""Model stage: from validated articles, the site: topics, providers, slugs, related links, rankings.

Pure functions of the articles and the config, no I/O, so they are cheap to rerun in
full on every build and every page always sees consistent cross-page data.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

from . import clusters, similar
from .badges import colour_class
from .config import PALETTE_SIZE, Config, ProviderOverride
from .content import Problem, collector_paused
from .model import Article, Image, Provider
from .ranking import is_listed, story_score
from .tokens import title_tokens

SLUG_MAX = 80
_RESERVED = {"con", "prn", "aux", "nul", "index", "page", "feed", "static", "topics", "providers"}
_RESERVED |= {f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, fallback: str) -> str:
    """A safe single path segment: lowercase ASCII letters, digits and single hyphens, capped."""
    # ASCII text has nothing to decompose: most titles skip the normalisation
    ascii_text = text if text.isascii() else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
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
    color: int | str | None = None  # a palette number or "#rrggbb" from site.yaml; else derived from the domain
    logo: str | None = None  # an image under static/ from site.yaml, shown instead of the monogram

    @property
    def monogram(self) -> str:
        return (self.name.strip()[:1] or self.domain[:1] or "?").upper()

    @property
    def palette(self) -> str:
        """The badge colour's class suffix: one of the theme's 12 colours ("0"-"11", all WCAG AA
        with the white monogram), or "c1a5fb4" for a site.yaml hex colour (see badges.py)."""
        if isinstance(self.color, str):
            return colour_class(self.color)
        if self.color is not None:
            return str(self.color)
        return str(int(hashlib.sha1(self.domain.encode()).hexdigest()[:8], 16) % PALETTE_SIZE)


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
class PostLink:
    """A sidebar entry for a story we have: our own post, which everything it shows comes from.

    It holds the post alone, so a page fingerprint hashes a reference to the post (hashed once per
    build) rather than a copy of its title, date and image for every sidebar that lists it.
    """

    post: Post
    url: ClassVar[None] = None  # links go to the post's page

    @property
    def title(self) -> str:
        return self.post.article.title

    @property
    def provider(self) -> ProviderRef:
        return self.post.provider

    @property
    def published(self) -> datetime:
        return self.post.article.published

    @property
    def image(self) -> Image | None:
        return self.post.article.image


@dataclass(frozen=True, slots=True)
class StoryLink:
    """A sidebar entry for a story we do not have: the original URL, when it has a safe one."""

    title: str
    url: str | None
    provider: ProviderRef | None  # with site.yaml's overrides, like every badge
    published: datetime | None
    image: Image | None
    post: ClassVar[None] = None


RelatedLink = PostLink | StoryLink  # what templates print: both answer title, url, post, provider, published, image


@dataclass(frozen=True, slots=True)
class Card:
    """One story on a list: its lead article and the same story from other providers, best first."""

    lead: Post
    more: tuple[Post, ...] = ()


@dataclass(frozen=True, slots=True)
class Topic:
    ref: TopicRef
    posts: tuple[Post, ...]  # listed posts, newest first
    cards: tuple[Card, ...]  # the same posts with each story cluster folded into one card


@dataclass(frozen=True, slots=True)
class ProviderPage:
    ref: ProviderRef
    posts: tuple[Post, ...]


@dataclass(frozen=True)
class Memos:
    """What a build's site model keeps for the next one's ``build_site(previous=...)`` (the build
    cache saves it): the related-story matching and the similar pairs of story clustering. The
    site is the same with or without either."""

    related: similar.Memo | None = None
    clusters: clusters.Memo | None = None


@dataclass(frozen=True)
class Site:
    config: Config
    posts: tuple[Post, ...]  # newest first; every post gets its page
    listed: tuple[Post, ...]  # the posts lists show (min_quality), newest first
    top: tuple[Card, ...]
    topics: tuple[Topic, ...]
    providers: tuple[ProviderPage, ...]
    related: dict[str, tuple[RelatedLink, ...]] = field(repr=False)  # by post web_url
    warnings: tuple[Problem, ...] = ()
    memos: Memos = field(default_factory=Memos, repr=False, compare=False)  # for the next build_site(previous=...)


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


def _provider_refs(articles: list[Article], overrides: dict[str, ProviderOverride]) -> dict[str, ProviderRef]:
    """One badge per domain: the name from site.yaml, else the most common spelling in the content."""
    names: dict[str, Counter[str]] = defaultdict(Counter)
    for article in articles:
        names[article.provider.domain][article.provider.name] += 1
    used: set[str] = set()
    refs = {}
    for domain in sorted(names):
        override = overrides.get(domain)
        name = min(names[domain].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        refs[domain] = _with_override(ProviderRef(_unique(slugify(domain, "provider"), used), name, domain), override)
    return refs


def _with_override(ref: ProviderRef, override: ProviderOverride | None) -> ProviderRef:
    """``ref`` with the display name, colour and logo that site.yaml gives its domain."""
    if override is None:
        return ref
    return ProviderRef(ref.slug, override.name or ref.name, ref.domain, override.color, override.logo)


def _story_provider(provider: Provider | None, refs: dict[str, ProviderRef],
                    overrides: dict[str, ProviderOverride]) -> ProviderRef | None:
    """The badge of a related story's provider: its page's when the site has one, else one
    without a page (no slug) that still honours site.yaml."""
    if provider is None:
        return None
    return refs.get(provider.domain) or _with_override(ProviderRef("", provider.name, provider.domain),
                                                       overrides.get(provider.domain))


def _post_slugs(articles: list[Article], days: dict[str, date]) -> dict[str, str]:
    """Unique slug per article within its date folder; collisions get -2, -3 in URL order."""
    used: dict[date, set[str]] = defaultdict(set)
    slugs = {}
    for article in sorted(articles, key=lambda a: (a.web_url, a.source)):
        slugs[article.web_url] = _unique(slugify(article.title, "article"), used[days[article.web_url]])
    return slugs


def _similar_entry(post: Post, tokens: frozenset[str]) -> similar.Entry:
    return similar.Entry(post.article.web_url, tokens, frozenset(t.slug for t in post.topics), post.published.timestamp())


def _own_links(
    post: Post, post_links: dict[str, PostLink], limit: int, badge: Callable[[Provider | None], ProviderRef | None],
) -> tuple[tuple[RelatedLink, ...], frozenset[str]]:
    """The article's own related stories, up to ``limit``, and the URLs the similar articles that
    fill the rest of its sidebar must not repeat (its own and theirs).

    ``post_links`` holds one link per post, shared by every sidebar that lists it: the renderer
    prints a shared entry once (see ``Renderer.fragment``) and the page fingerprints hash it once.
    """
    links: list[RelatedLink] = []
    seen = {post.article.web_url}
    for story in post.article.related:
        if len(links) >= limit:
            break
        if story.web_url in seen:
            continue
        if story.web_url:
            seen.add(story.web_url)
        links.append(post_links.get(story.web_url or "")
                     or StoryLink(story.title, story.web_url, badge(story.provider), story.published, story.image))
    return tuple(links), frozenset(seen)


def _story_clusters(
    posts: Sequence[Post], tokens: dict[str, frozenset[str]], scores: dict[str, float], config: Config,
    previous: clusters.Memo | None,
) -> tuple[dict[str, tuple[Post, ...]], clusters.Memo]:
    """Each clustered post's web_url -> its whole cluster, lead (best score) first; and the memo
    of the similar pairs, for the next build (``previous`` is the last build's)."""
    entries = [
        clusters.Entry(p.article.web_url, tokens[p.article.web_url], p.published.timestamp(),
                       p.provider.domain, scores[p.article.web_url])
        for p in posts
    ]
    by_url = {p.article.web_url: p for p in posts}
    found, memo = clusters.find_clusters(entries, config.cluster_threshold, config.cluster_window_hours * 3600,
                                         previous)
    return {url: tuple(by_url[u] for u in group) for group in found for url in group}, memo


def _cards(posts: Sequence[Post], story_clusters: dict[str, tuple[Post, ...]]) -> tuple[Card, ...]:
    """The list as cards: a cluster's members in ``posts`` become one card where the first of them stands."""
    present = {p.article.web_url for p in posts}
    done: set[str] = set()
    cards = []
    for post in posts:
        cluster = story_clusters.get(post.article.web_url)
        if cluster is None:
            cards.append(Card(post))
            continue
        lead_url = cluster[0].article.web_url
        if lead_url in done:
            continue
        done.add(lead_url)
        members = [m for m in cluster if m.article.web_url in present]
        cards.append(Card(members[0], tuple(members[1:])))
    return tuple(cards)


def _scores(posts: tuple[Post, ...], config: Config) -> dict[str, float]:
    """Top-stories score per web_url, ages measured from the newest post (``posts`` is newest first)."""
    if not posts:
        return {}
    newest = posts[0].published
    return {p.article.web_url: story_score(p.article, newest, config) for p in posts}


@collector_paused()
def build_site(articles: tuple[Article, ...], config: Config, previous: Memos = Memos()) -> Site:
    """Assemble the site model from the loaded articles.

    ``previous`` is the last build's ``Site.memos``: related-story matching and story clustering
    then reuse what no change can have affected (see ``similar.nearest_all`` and
    ``clusters.find_clusters``); the site is the same with or without them.

    Without the cyclic collector (see ``content.collector_paused``): the model is a million
    objects that all live on, and each pass of the collector would walk them and the articles
    again for nothing (a third of this stage's time at 10,000 articles). The same goes for the
    plan and the feeds.
    """
    kept, warnings = _dedupe(articles)
    topic_refs = _topic_refs(kept, config)
    overrides = {o.domain: o for o in config.providers}
    provider_refs = _provider_refs(kept, overrides)
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
    scores = _scores(posts, config)
    listed = tuple(p for p in posts if is_listed(p.article, config))
    tokens = {p.article.web_url: title_tokens(p.title) for p in posts}
    story_clusters, clusters_memo = _story_clusters(listed, tokens, scores, config, previous.clusters)
    by_topic: dict[TopicRef, list[Post]] = defaultdict(list)
    by_provider: dict[ProviderRef, list[Post]] = defaultdict(list)
    for post in posts:  # a topic or provider whose posts are all hidden keeps its (empty) page: badges link there
        for ref in post.topics:
            by_topic.setdefault(ref, [])
        by_provider.setdefault(post.provider, [])
    for post in listed:
        for ref in post.topics:
            by_topic[ref].append(post)
        by_provider[post.provider].append(post)
    order = {topic_key(name): i for i, name in enumerate(config.topics)}
    topics = sorted(
        (Topic(ref, tuple(items), _cards(items, story_clusters)) for ref, items in by_topic.items()),
        key=lambda t: (order.get(topic_key(t.ref.name), len(order)), -len(t.posts), t.ref.slug),
    )
    providers = sorted(
        (ProviderPage(ref, tuple(items)) for ref, items in by_provider.items()),
        key=lambda p: p.ref.slug,
    )
    by_url = {post.article.web_url: post for post in posts}
    entries = {p.article.web_url: _similar_entry(p, tokens[p.article.web_url]) for p in posts}
    post_links = {url: PostLink(post) for url, post in by_url.items()}
    badge = functools.partial(_story_provider, refs=provider_refs, overrides=overrides)
    limit = config.related_count
    own = {url: _own_links(post, post_links, limit, badge) for url, post in by_url.items()}
    nearest, related_memo = similar.nearest_all(
        entries, [p.article.web_url for p in listed],
        {url: (limit - len(links), seen) for url, (links, seen) in own.items()}, previous.related)
    related = {url: links + tuple(post_links[key] for key in nearest[url]) for url, (links, _) in own.items()}
    ranked = sorted(listed, key=lambda p: (-scores[p.article.web_url],) + newest_first(p))
    return Site(
        config=config,
        posts=posts,
        listed=listed,
        top=_cards(ranked, story_clusters)[: config.home_top],
        topics=tuple(topics),
        providers=tuple(providers),
        related=related,
        warnings=tuple(warnings),
        memos=Memos(related_memo, clusters_memo),
    )
