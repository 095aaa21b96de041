"""Model stage: from validated articles, the site: topics, providers, slugs, related links, rankings.

Pure functions of the articles and the config, no I/O, so they are cheap to rerun in
full on every build and every page always sees consistent cross-page data.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, ClassVar

from . import clusters, similar
from .badges import colour_class
from .config import PALETTE_SIZE, Config, ProviderOverride
from .content import Problem, collector_paused
from .model import Article, Image, Provider
from .ranking import is_listed, story_score
from .tokens import title_tokens
from .workers import Forked

SLUG_MAX = 80
# Matching related stories with no previous build's answers to reuse (a first build) is half of a
# cold build's site model at 10,000 articles, and needs none of what follows it: given a second
# core, a forked child does it while this process clusters the stories and groups the pages.
# Below this many articles the fork and the answers' way back cost more than they save.
PARALLEL_RELATED_MIN = 2000
_RESERVED = {"con", "prn", "aux", "nul", "index", "page", "feed", "static", "topics", "providers"}
_RESERVED |= {f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)}
_SLUG_WORD = re.compile(r"[a-z0-9]+")


def slugify(text: str, fallback: str) -> str:
    """A safe single path segment: lowercase ASCII letters, digits and single hyphens, capped."""
    # ASCII text has nothing to decompose: most titles skip the normalisation
    ascii_text = text if text.isascii() else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    # the runs of letters and digits joined by single hyphens (a fifth faster than replacing the gaps)
    slug = "-".join(_SLUG_WORD.findall(ascii_text.lower()))
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


# What build_site works out from a title alone: its slug before collisions are resolved (slugify)
# and its words (title_tokens), sorted and interned like the words of the other memos' facts.
TitleFacts = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class TitleMemo:
    """Each title's :data:`TitleFacts`, by title: plain data, so the build cache saves and loads it
    with ``marshal``. An edit keeps most titles, and looking them up costs a quarter of working
    them out (8 ms against 32 ms at 10,000 articles). Keyed by the title itself, which is all the
    facts depend on, so an entry can never stand for another title; the generator's code, which
    says how they are worked out, is part of the cache's key."""

    titles: dict[str, TitleFacts]

    def to_plain(self) -> dict[str, TitleFacts]:
        return self.titles

    @classmethod
    def from_plain(cls, data: Any) -> TitleMemo | None:
        """The memo :meth:`to_plain` gave, or None for anything else (the cache ignores it)."""
        return cls(data) if isinstance(data, dict) else None


@dataclass(frozen=True)
class Memos:
    """What a build's site model keeps for the next one's ``build_site(previous=...)`` (the build
    cache saves it): the related-story matching, the similar pairs of story clustering and the
    facts of each title. The site is the same with or without any of them."""

    related: similar.Memo | None = None
    clusters: clusters.Memo | None = None
    titles: TitleMemo | None = None


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

    @property
    def topic_order(self) -> tuple[TopicRef, ...]:
        return tuple(topic.ref for topic in self.topics)


def _newest_first(posts: list[Post]) -> tuple[Post, ...]:
    """``posts`` (one per URL, in URL order: see ``_dedupe``) newest first, ties in URL order so
    order never depends on I/O. A stable sort by time alone gives that, and sorts plain floats
    rather than (time, URL) tuples made by a Python call each (a third of the time)."""
    times = [-post.article.published.timestamp() for post in posts]
    return tuple([posts[index] for index in sorted(range(len(posts)), key=times.__getitem__)])


def _quality_key(article: Article) -> tuple[int, int, float, str]:
    """Which of two articles with the same webUrl to keep: best quality, then heat, then newest."""
    return (-(article.quality or 0), -(article.heat or 0), -article.published.timestamp(), article.source)


def _dedupe(articles: tuple[Article, ...]) -> tuple[list[Article], list[Problem]]:
    """One article per webUrl, in webUrl order, and a warning for each article dropped."""
    by_url: dict[str, list[Article]] = {}
    for article in articles:
        by_url.setdefault(article.web_url, []).append(article)
    kept, warnings = [], []
    for url in sorted(by_url):
        group = by_url[url]
        if len(group) > 1:  # rare: sorting every group of one took two thirds of this function's time
            group.sort(key=_quality_key)
            warnings += (Problem(dropped.source, 1, f"same webUrl as {group[0].source}, which is kept; skipped",
                                 warning=True) for dropped in group[1:])
        kept.append(group[0])
    return kept, warnings


def _topic_refs(articles: list[Article], config: Config) -> dict[tuple[str, ...], tuple[TopicRef, ...]]:
    """The topics of each list of topic names the articles give: for each topic key, its canonical
    name (from site.yaml, else the most common spelling) and unique slug."""
    # Articles share a few hundred lists of a handful of names: each list is resolved once and
    # each name normalised once, not each of the 20,000 names of 10,000 articles.
    lists = Counter(article.topics for article in articles)
    written: Counter[str] = Counter()
    for names, count in lists.items():
        for name in names:
            written[name] += count
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for name, count in written.items():
        spellings[topic_key(name)][" ".join(name.split())] += count
    configured = {topic_key(name): name for name in config.topics}
    refs: dict[str, TopicRef] = {}
    used: set[str] = set()
    for key in sorted(spellings):
        name = configured.get(key) or min(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        refs[key] = TopicRef(_unique(slugify(name, "topic"), used), name)
    return {names: tuple(refs[topic_key(name)] for name in names) for names in lists}


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


def _title_facts(articles: list[Article], previous: TitleMemo | None) -> dict[str, TitleFacts]:
    """The facts of each title of ``articles``: from the last build's memo where it has the title."""
    known = previous.titles if previous is not None else {}
    facts: dict[str, TitleFacts] = {}
    for article in articles:
        title = article.title
        if title not in facts:
            facts[title] = known.get(title) or (slugify(title, "article"),
                                                tuple(sorted(map(sys.intern, title_tokens(title)))))
    return facts


def _place(articles: list[Article], titles: dict[str, TitleFacts], topic_refs: dict[tuple[str, ...], tuple[TopicRef, ...]],
           provider_refs: dict[str, ProviderRef], tz: tzinfo) -> list[Post]:
    """A post for each article, in the same order: its local day and its unique slug within that
    day's folder, where collisions get -2, -3 in URL order (``articles`` are in that order, one per
    URL: see ``_dedupe``)."""
    used: dict[date, set[str]] = defaultdict(set)
    posts = []
    for article in articles:
        day = article.published.astimezone(tz).date()
        slug = _unique(titles[article.title][0], used[day])
        posts.append(Post(article, slug, topic_refs[article.topics], provider_refs[article.provider.domain], day))
    return posts


def _similar_entry(post: Post, words: tuple[str, ...], topics: frozenset[str]) -> similar.Entry:
    """``words``: the title's (see :data:`TitleFacts`); ``topics``: the slugs of the post's topics.
    Story clustering reads its title words and time too."""
    article = post.article
    return similar.Entry(article.web_url, frozenset(words), topics, article.published.timestamp())


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
    posts: Sequence[Post], similar_entries: dict[str, similar.Entry], scores: dict[str, float], config: Config,
    previous: clusters.Memo | None,
) -> tuple[dict[str, tuple[Post, ...]], clusters.Memo]:
    """Each clustered post's web_url -> its whole cluster, lead (best score) first; and the memo
    of the similar pairs, for the next build (``previous`` is the last build's). The title words
    and times are those of the posts' ``similar_entries``."""
    entries = []
    for post in posts:
        entry = similar_entries[post.article.web_url]
        entries.append(clusters.Entry(entry.key, entry.tokens, entry.timestamp, post.provider.domain,
                                      scores[entry.key]))
    by_url = {p.article.web_url: p for p in posts}
    found, memo = clusters.find_clusters(entries, config.cluster_threshold, config.cluster_window_hours * 3600,
                                         previous)
    return {url: tuple(by_url[u] for u in group) for group in found for url in group}, memo


def _cards(posts: Sequence[Post], story_clusters: dict[str, tuple[Post, ...]]) -> Iterator[Card]:
    """The list as cards: a cluster's members in ``posts`` become one card where the first of them
    stands. In order, one at a time: the home page takes the first few cards of all listed posts."""
    present = {p.article.web_url for p in posts}
    done: set[str] = set()
    for post in posts:
        cluster = story_clusters.get(post.article.web_url)
        if cluster is None:
            yield Card(post)
            continue
        lead_url = cluster[0].article.web_url
        if lead_url in done:
            continue
        done.add(lead_url)
        members = [m for m in cluster if m.article.web_url in present]
        yield Card(members[0], tuple(members[1:]))


def _topic_order(topic_refs: dict[tuple[str, ...], tuple[TopicRef, ...]], listed: tuple[Post, ...],
                 config: Config) -> tuple[TopicRef, ...]:
    """Every topic of a post, in the order the site lists them: the configured order, then by
    number of listed posts, then by slug. Every topic keeps its page even when all its posts are
    hidden: badges link there. Counted by the refs' slugs (unique), whose hash Python keeps, rather
    than by the refs, whose dataclass hash is a Python call."""
    counts = Counter(ref.slug for post in listed for ref in post.topics)
    order = {topic_key(name): i for i, name in enumerate(config.topics)}
    refs = {ref.slug: ref for refs in topic_refs.values() for ref in refs}
    return tuple(sorted(refs.values(), key=lambda ref: (order.get(topic_key(ref.name), len(order)), -counts[ref.slug], ref.slug)))


def _indexes(stories: Stories, story_clusters: dict[str, tuple[Post, ...]]) -> tuple[list[Topic], list[ProviderPage]]:
    """The topic pages (in the stories' topic order) and the provider pages (by slug), each listing
    its listed posts; every provider of a post keeps its page too. Grouped by the refs' slugs."""
    by_topic: dict[str, list[Post]] = {ref.slug: [] for ref in stories.topic_order}
    by_provider: dict[str, list[Post]] = {ref.slug: [] for ref in stories.provider_refs.values()}
    for post in stories.listed:
        for ref in post.topics:
            by_topic[ref.slug].append(post)
        by_provider[post.provider.slug].append(post)
    topics = [Topic(ref, tuple(by_topic[ref.slug]), tuple(_cards(by_topic[ref.slug], story_clusters)))
              for ref in stories.topic_order]
    providers = sorted(
        (ProviderPage(ref, tuple(by_provider[ref.slug])) for ref in stories.provider_refs.values()),
        key=lambda p: p.ref.slug,
    )
    return topics, providers


def _scores(posts: tuple[Post, ...], config: Config) -> dict[str, float]:
    """Top-stories score per web_url, ages measured from the newest post (``posts`` is newest first)."""
    if not posts:
        return {}
    newest = posts[0].published
    return {p.article.web_url: story_score(p.article, newest, config) for p in posts}


@dataclass
class Stories:
    """The first half of the site model: every post placed in the site, with the stories related
    to it, which is all an article page shows (see :func:`place_stories`); :func:`arrange` makes
    the lists from it (story clusters, topics, providers, top stories).

    An edit build renders the pages of the search shard it changed from this alone and has the
    shard indexed while it arranges the lists (see the pipeline). The related stories of a first
    build may still be being matched in a forked child (see :attr:`related`).
    """

    config: Config
    posts: tuple[Post, ...]  # newest first; every post gets its page
    listed: tuple[Post, ...]  # the posts lists show (min_quality), newest first
    topic_order: tuple[TopicRef, ...]  # every topic of a post, in the order the site lists them (see _topic_order)
    provider_refs: dict[str, ProviderRef]  # by domain
    warnings: tuple[Problem, ...]
    entries: dict[str, similar.Entry] = field(repr=False)  # by web_url: what matching and clustering read
    titles: dict[str, TitleFacts] = field(repr=False)
    _own: dict[str, tuple[tuple[RelatedLink, ...], frozenset[str]]] = field(repr=False)
    _post_links: dict[str, PostLink] = field(repr=False)
    _match: Callable[[], tuple[dict[str, tuple[str, ...]], similar.Memo]] = field(repr=False)
    _matching: Forked[tuple[dict[str, tuple[str, ...]], similar.Memo]] | None = field(repr=False)
    _matched: tuple[dict[str, tuple[RelatedLink, ...]], similar.Memo] | None = field(default=None, repr=False)

    @property
    def related(self) -> dict[str, tuple[RelatedLink, ...]]:
        """Each post's related stories, by web_url: its own, then the most similar of ours. Waits
        for the matching when a forked child does it."""
        return self._matching_result()[0]

    @property
    def related_memo(self) -> similar.Memo:
        return self._matching_result()[1]

    def cancel(self) -> None:
        """Stop the forked matching, if any (the build failed before it needed the answers)."""
        if self._matching is not None and self._matched is None:
            self._matching.cancel()

    def _matching_result(self) -> tuple[dict[str, tuple[RelatedLink, ...]], similar.Memo]:
        if self._matched is None:
            nearest, memo = self._matching.result() if self._matching is not None else self._match()
            post_links = self._post_links
            related = {url: links + tuple([post_links[key] for key in nearest[url]]) for url, (links, _) in self._own.items()}
            self._matched = related, memo
        return self._matched


@collector_paused()
def place_stories(articles: tuple[Article, ...], config: Config, previous: Memos = Memos(), parallel: bool = False) -> Stories:
    """The first half of the site model (see :class:`Stories`); ``previous`` and ``parallel`` as for
    :func:`build_site`. A first build with a second core (``parallel``) matches related stories in a
    forked child, while this process goes on with the lists (:func:`arrange`)."""
    kept, warnings = _dedupe(articles)
    topic_refs = _topic_refs(kept, config)
    overrides = {o.domain: o for o in config.providers}
    provider_refs = _provider_refs(kept, overrides)
    titles = _title_facts(kept, previous.titles)
    posts = _newest_first(_place(kept, titles, topic_refs, provider_refs, config.tz))
    listed = tuple(p for p in posts if is_listed(p.article, config))
    topic_slugs = {names: frozenset(ref.slug for ref in refs) for names, refs in topic_refs.items()}  # like topic_refs
    entries = {p.article.web_url: _similar_entry(p, titles[p.article.title][1], topic_slugs[p.article.topics])
               for p in posts}
    post_links = {post.article.web_url: PostLink(post) for post in posts}
    badge = functools.partial(_story_provider, refs=provider_refs, overrides=overrides)
    limit = config.related_count
    own = {post.article.web_url: _own_links(post, post_links, limit, badge) for post in posts}
    match = functools.partial(similar.nearest_all, entries, [p.article.web_url for p in listed],
                              {url: (limit - len(links), seen) for url, (links, seen) in own.items()}, previous.related)
    matching = Forked(match) if parallel and previous.related is None and len(posts) >= PARALLEL_RELATED_MIN else None
    return Stories(config, posts, listed, _topic_order(topic_refs, listed, config), provider_refs, tuple(warnings),
                   entries, titles, own, post_links, match, matching)


@collector_paused()
def arrange(stories: Stories, previous: Memos = Memos()) -> Site:
    """The site model from its first half: story clusters, topic and provider pages, top stories.
    ``previous`` as for :func:`build_site`. Related stories still being matched in a forked child
    (see :func:`place_stories`) are waited for last."""
    config, listed = stories.config, stories.listed
    try:
        scores = _scores(stories.posts, config)
        story_clusters, clusters_memo = _story_clusters(listed, stories.entries, scores, config, previous.clusters)
        topics, providers = _indexes(stories, story_clusters)
    except BaseException:
        stories.cancel()
        raise
    related, related_memo = stories.related, stories.related_memo
    # By score alone: the sort is stable and ``listed`` is newest first, so ties stay newest first
    # without a second key (a fifth of the time)
    ranked = sorted(listed, key=lambda p: -scores[p.article.web_url])
    return Site(
        config=config,
        posts=stories.posts,
        listed=listed,
        top=tuple(itertools.islice(_cards(ranked, story_clusters), config.home_top)),
        topics=tuple(topics),
        providers=tuple(providers),
        related=related,
        warnings=stories.warnings,
        memos=Memos(related_memo, clusters_memo, TitleMemo(stories.titles)),
    )


def build_site(articles: tuple[Article, ...], config: Config, previous: Memos = Memos(), parallel: bool = False) -> Site:
    """Assemble the site model from the loaded articles; ``parallel``: a second core is free for it.

    ``previous`` is the last build's ``Site.memos``: related-story matching and story clustering
    then reuse what no change can have affected (see ``similar.nearest_all`` and
    ``clusters.find_clusters``), and a title seen before is not slugified and split into words
    again (see :class:`TitleMemo`); the site is the same with or without them.

    Both halves run without the cyclic collector (see ``content.collector_paused``): the model is
    a million objects that all live on, and each pass of the collector would walk them and the
    articles again for nothing (a third of this stage's time at 10,000 articles). The same goes for
    the plan and the feeds.
    """
    return arrange(place_stories(articles, config, previous, parallel), previous)
