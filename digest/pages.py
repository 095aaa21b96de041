"""Plan stage: the complete list of pages, each a URL, a template and the recipe of its context.

The URL scheme lives here and only here; templates ask :func:`url_for` for links.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from .archive import Archive, Period, PeriodRef, build_archive, neighbours
from .config import Config
from .content import collector_paused
from .search import Shard, plan_shards
from .meta import FeedLink, Locate, Sharing, article_sharing, collection_sharing, home_sharing
from .site import Card, Post, ProviderPage, ProviderRef, RelatedLink, Site, Stories, Topic, TopicRef


Recipe = Callable[..., dict[str, Any]]  # a page's context from its inputs: recipe(*inputs)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the site: its URL, its template, and the recipe its context is made by.

    The context (every value the template sees) is ``recipe(*inputs)``, worked out only when
    asked for (the renderer, for the pages it renders). The recipe is a module-level function
    of this module and the inputs are plain data (model objects, refs, tuples, numbers, never a
    closure), so the pair is all a page's fingerprint needs (see incremental.py): whatever the
    template shows is derived from them, and changes only when they do.
    """

    url: str  # site-relative, starts with "/"; directory URLs end with "/"
    template: str
    recipe: Recipe
    inputs: tuple[Any, ...]
    updated: datetime | None = None  # newest story the page shows: the sitemap's lastmod
    indexed: bool = True  # listed in the sitemap (the 404 page is not)
    # The file that serves this URL on any static host ("/a/" -> "a/index.html"): asked for some
    # 80,000 times per build, so worked out once.
    output_path: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        path = self.url.lstrip("/")
        object.__setattr__(self, "output_path", path + "index.html" if not path or path.endswith("/") else path)

    @property
    def context(self) -> dict[str, Any]:
        """What the template sees, made afresh from the inputs on each call."""
        return self.recipe(*self.inputs)


# Files with fixed names: feeds, sitemaps and robots.txt (see digest/feeds.py).
NAMED_FILES = {
    "feed": "/feed.xml",
    "json_feed": "/feed.json",
    "sitemap": "/sitemap.xml",
    "news_sitemap": "/news-sitemap.xml",
    "robots": "/robots.txt",
}
# Index pages with fixed names.
NAMED_PAGES = {
    "home": "/",
    "providers": "/providers/",
    "search": "/search/",
}


_PERIOD_FOLDERS = {"year": "/{:%Y}/", "month": "/{:%Y/%m}/", "day": "/{:%Y/%m/%d}/"}


def url_for(obj: Post | Topic | TopicRef | ProviderPage | ProviderRef | Period | date | str, page: int = 1) -> str:
    """The site-relative URL of a post, topic, provider, archive period or day (and its n-th list
    page), or a named page.

    Articles sit one folder below their day page (``/2020/08/17/<slug>/``); a slug is never
    ``page`` (see ``site.slugify``), so an article cannot shadow the day's ``page/<n>/`` folders.
    """
    if type(obj) is Post:  # the most frequent by far; integer formatting is three times faster than strftime
        day = obj.day
        return "/%04d/%02d/%02d/%s/" % (day.year, day.month, day.day, obj.slug)
    if isinstance(obj, str) and obj in NAMED_FILES:
        return NAMED_FILES[obj]
    if isinstance(obj, (Topic, ProviderPage)):
        obj = obj.ref
    if isinstance(obj, str) and obj in NAMED_PAGES:  # before the dataclasses: "home" is asked for on every page
        base = NAMED_PAGES[obj]
    elif isinstance(obj, TopicRef):
        base = f"/topics/{obj.slug}/"
    elif isinstance(obj, ProviderRef):
        base = f"/providers/{obj.slug}/"
    elif isinstance(obj, (Period, PeriodRef)):
        base = _PERIOD_FOLDERS[obj.kind].format(obj.start)
    elif type(obj) is date:  # a datetime would carry its own time zone: only local days are accepted
        base = _PERIOD_FOLDERS["day"].format(obj)
    else:
        raise ValueError(f"no URL for {obj!r}")
    return base if page <= 1 else f"{base}page/{page}/"


def topic_feed_url(topic: Topic | TopicRef) -> str:
    """A topic's Atom feed sits beside its first list page."""
    return url_for(topic) + "feed.xml"


def absolute_url(base_url: str, url: str) -> str:
    """A site-relative URL ("/topics/ai/") under ``base_url``, for feeds, sitemaps and sharing tags."""
    return base_url + url.lstrip("/")


def image_url(file: str) -> str:
    """Where a cached image variant is served; ``file`` is a cache-made name (hash, width, format)."""
    return f"/images/{file}"


Item = TypeVar("Item", Post, Card)


@dataclass(frozen=True)
class Pagination:
    """Where a list page sits among its siblings; templates only print it."""

    number: int
    total: int
    previous_url: str | None
    next_url: str | None


def _pagination(owner: TopicRef | ProviderRef | PeriodRef, number: int, total: int) -> Pagination:
    return Pagination(number, total, url_for(owner, number - 1) if number > 1 else None,
                      url_for(owner, number + 1) if number < total else None)


def _paginate(owner: TopicRef | ProviderRef | PeriodRef, items: Sequence[Item], size: int) -> list[tuple[str, int, int, Sequence[Item]]]:
    """Each list page of ``items``: its URL, its number, the number of pages and its items."""
    total = max(1, -(-len(items) // size))
    return [(url_for(owner, number), number, total, items[(number - 1) * size : number * size])
            for number in range(1, total + 1)]


@dataclass(frozen=True, slots=True)
class Common:
    """What every page shows besides its own values: the config and the site's navigation.

    One object for the whole plan, so a page fingerprint names it by a digest worked out once
    per build instead of hashing the topic list again for each of 12,000 pages.
    """

    config: Config
    topics: tuple[TopicRef, ...]  # the masthead's topic navigation
    # The footer's archive link: a URL, not the Period, which holds a year of posts and would make
    # every page depend on every article of the year.
    archive: str | None


@dataclass(frozen=True)
class ArticlePlan:
    """The article pages of a plan (see :func:`plan_articles`), and what the other pages take from their making."""

    common: Common
    archive: Archive
    pages: tuple[Page, ...]  # one per post, in the posts' order
    shards: tuple[Shard, ...]  # of the search index (none without search)


@collector_paused()  # like build_site: every object made here lives on
def plan_articles(stories: Stories | Site) -> ArticlePlan:
    """The article pages: one per post, with its related stories; all they need is the first half of
    the site model (see ``site.Stories``), so an edit build renders them while the lists are made."""
    config = stories.config
    archive = build_archive(stories)
    common = Common(config, stories.topic_order, url_for(archive.years[0]) if archive.years else None)
    related = stories.related
    pages = tuple(Page(url_for(post), "article.html", _article_context, (common, post, related[post.article.web_url]),
                       updated=post.article.published) for post in stories.posts)
    shards = plan_shards([(post.article.web_url, page) for post, page in zip(stories.posts, pages)
                          if _searchable(post, config)]) if config.search else ()
    return ArticlePlan(common, archive, pages, shards)


@collector_paused()
def plan_pages(site: Site, articles: ArticlePlan | None = None) -> list[Page]:
    """Every page of the site, in a fixed order (home, articles, topics, providers, archives, 404);
    ``articles``: the article pages, when :func:`plan_articles` made them already.

    A page's inputs are all its fingerprint sees (see incremental.py), so they hold what the page
    shows: a list page gets its topic, provider or period as a reference and its number of stories,
    never the whole list of posts, so editing one article re-renders only the pages that show it.
    What the page derives from them (titles, descriptions, sharing tags, pagination links) is left
    to its recipe, which runs only when the page is rendered.
    """
    config = site.config
    if articles is None:
        articles = plan_articles(site)
    common = articles.common
    newest = site.posts[0].published if site.posts else None
    sections = tuple((topic.ref, len(topic.posts), topic.cards[: config.home_topic_cards]) for topic in site.topics if topic.cards)
    pages = [Page("/", "home.html", _home_context, (common, site.top, sections), updated=newest)]
    pages += articles.pages
    for topic in site.topics:
        count = len(topic.posts)
        for url, number, total, cards in _paginate(topic.ref, topic.cards, config.page_size):
            updated = max((post.article.published for card in cards for post in (card.lead, *card.more)), default=None)
            pages.append(Page(url, "topic.html", _topic_context, (common, topic.ref, count, cards, number, total), updated))
    for provider in site.providers:
        count, counts = len(provider.posts), topic_counts(provider.posts)
        for url, number, total, posts in _paginate(provider.ref, provider.posts, config.page_size):
            pages.append(Page(url, "provider.html", _provider_context,
                              (common, provider.ref, count, counts, posts, number, total), posts[0].published if posts else None))
    providers = tuple((p.ref, len(p.posts)) for p in sorted(site.providers, key=lambda p: (p.ref.name.casefold(), p.ref.slug)))
    pages.append(Page(url_for("providers"), "providers.html", _providers_context, (common, providers), newest))
    pages += _archive_pages(articles.archive, common)
    if config.search:
        pages.append(Page(url_for("search"), "search.html", _search_context, (common, articles.shards), newest))
    pages.append(Page("/404.html", "404.html", _not_found_context, (common, site.listed[: config.home_topic_cards]), indexed=False))
    return pages


def search_shards(pages: Sequence[Page]) -> tuple[Shard, ...]:
    """The shards of the search index as the plan's search page lists them (none when the site has
    no search): planned once, so the build indexes exactly the bundles the page loads."""
    page = next((page for page in reversed(pages) if page.recipe is _search_context), None)
    return page.inputs[1] if page else ()


def article_post(page: Page) -> Post | None:
    """The post an article page shows (None for any other page), without making its context."""
    return page.inputs[1] if page.recipe is _article_context else None


def replan_article(page: Page, post: Post) -> Page:
    """``page``, an article page of the last plan, again for an edited ``post`` at the same URL.

    Only the article itself is new: its related stories and the navigation are the last plan's,
    which the preview's next full build brings up to date (see :mod:`digest.fastrender`).
    """
    common, _, related = page.inputs
    return replace(page, inputs=(common, post, related), updated=post.article.published)


def topic_counts(posts: tuple[Post, ...]) -> tuple[tuple[TopicRef, int], ...]:
    """How many of ``posts`` carry each topic: most first, ties by topic name."""
    counts = Counter(ref for post in posts for ref in post.topics)  # hashes each ref once (a Python call), not twice
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].name.casefold(), kv[0].slug)))


def _archive_pages(archive: Archive, common: Common) -> list[Page]:
    """Year and month indexes (their months and days, with counts) and paginated day pages."""
    pages = []
    for periods in (archive.years, archive.months):
        for index, period in enumerate(periods):
            newer, older = neighbours(periods, index)
            children = tuple((child.ref, len(child.posts)) for child in archive.within(period))
            inputs = (common, period.ref, len(period.posts), children, newer and newer.ref, older and older.ref,
                      _trail(archive, period))
            pages.append(Page(url_for(period), "archive.html", _archive_context, inputs,
                              period.posts[0].published if period.posts else None))
    for index, day in enumerate(archive.days):
        newer, older = neighbours(archive.days, index)
        shared = (day.ref, len(day.posts), newer and newer.ref, older and older.ref, _trail(archive, day))
        for url, number, total, posts in _paginate(day.ref, day.posts, common.config.page_size):
            pages.append(Page(url, "day.html", _day_context, (common, *shared, posts, number, total),
                              posts[0].published if posts else None))
    return pages


def _trail(archive: Archive, period: Period) -> tuple[PeriodRef, ...]:
    """The larger periods holding ``period`` (its year, then its month), for breadcrumbs."""
    year = next(y for y in archive.years if y.start.year == period.start.year)
    if period.kind == "year":
        return ()
    if period.kind == "month":
        return (year.ref,)
    return (year.ref, next(m for m in archive.within(year) if m.start.month == period.start.month).ref)


def _searchable(post: Post, config: Config) -> bool:
    """Whether the post's page is in the search index (and marked for Pagefind)."""
    return config.search and not post.article.draft


# The recipes: each page's context from its inputs. Only rendered pages (and tests) call them, so
# what they derive costs an edit build nothing for the thousands of pages it carries over.

def _frame(common: Common, title: str, description: str, sharing: Sharing,
           current_topic: TopicRef | None = None) -> dict[str, Any]:
    """What every template's frame (base.html) reads."""
    return {"nav_topics": common.topics, "nav_archive": common.archive, "title": title, "description": description,
            "current_topic": current_topic, "sharing": sharing}


def _locator(config: Config) -> Locate:
    """Absolute URLs under the site's ``base_url``, for sharing metadata."""
    base_url = config.base_url
    return lambda obj, page=1: absolute_url(base_url, url_for(obj, page))


def _site_feeds(config: Config) -> tuple[FeedLink, ...]:
    return (FeedLink(url_for("feed"), "application/atom+xml", f"{config.title} (Atom)"),
            FeedLink(url_for("json_feed"), "application/feed+json", f"{config.title} (JSON Feed)"))


def _website_sharing(config: Config) -> Sharing:
    """The sharing tags of a page that shows no stories of its own: the site's feeds alone."""
    return Sharing("website", feeds=_site_feeds(config))


def _home_context(common: Common, top: tuple[Card, ...],
                  sections: tuple[tuple[TopicRef, int, tuple[Card, ...]], ...]) -> dict[str, Any]:
    config = common.config
    sharing = home_sharing(tuple(card.lead for card in top), config, _locator(config), _site_feeds(config))
    return {**_frame(common, config.title, config.description, sharing), "top": top, "sections": sections}


def _article_context(common: Common, post: Post, related: tuple[RelatedLink, ...]) -> dict[str, Any]:
    config, article = common.config, post.article
    sharing = article_sharing(post, config, _locator(config), _site_feeds(config))
    return {**_frame(common, article.title, article.excerpt or article.title, sharing, post.topics[0] if post.topics else None),
            "post": post, "related": related, "searchable": _searchable(post, config)}


def _topic_context(common: Common, topic: TopicRef, story_count: int, cards: tuple[Card, ...], number: int,
                   total: int) -> dict[str, Any]:
    config = common.config
    feeds = (FeedLink(topic_feed_url(topic), "application/atom+xml", f"{topic.name} · {config.title} (Atom)"),
             *_site_feeds(config))
    sharing = collection_sharing(topic, topic.name, tuple(card.lead for card in cards), number, config,
                                 _locator(config), feeds)
    return {**_frame(common, topic.name + _suffix(number), f"The latest {topic.name} stories from {config.title}.", sharing,
                     topic),
            "topic": topic, "story_count": story_count, "cards": cards, "pagination": _pagination(topic, number, total)}


def _provider_context(common: Common, provider: ProviderRef, story_count: int, counts: tuple[tuple[TopicRef, int], ...],
                      posts: tuple[Post, ...], number: int, total: int) -> dict[str, Any]:
    config = common.config
    sharing = collection_sharing(provider, provider.name, posts, number, config, _locator(config),
                                 _site_feeds(config))
    description = f"Stories from {provider.name} ({provider.domain}) on {config.title}."
    return {**_frame(common, provider.name + _suffix(number), description, sharing),
            "provider": provider, "story_count": story_count, "topic_counts": counts, "posts": posts,
            "pagination": _pagination(provider, number, total)}


def _providers_context(common: Common, providers: tuple[tuple[ProviderRef, int], ...]) -> dict[str, Any]:
    config = common.config
    description = f"Every outlet whose stories appear on {config.title}, with its number of stories."
    return {**_frame(common, "Sources", description, _website_sharing(config)), "providers": providers}


def _archive_context(common: Common, period: PeriodRef, story_count: int, children: tuple[tuple[PeriodRef, int], ...],
                     newer: PeriodRef | None, older: PeriodRef | None, trail: tuple[PeriodRef, ...]) -> dict[str, Any]:
    description = f"Every story published in {period.label}, by {'month' if period.kind == 'year' else 'day'}."
    return {**_frame(common, period.label, description, _website_sharing(common.config)),
            "period": period, "story_count": story_count, "children": children, "newer": newer, "older": older,
            "trail": trail}


def _day_context(common: Common, day: PeriodRef, story_count: int, newer: PeriodRef | None, older: PeriodRef | None,
                 trail: tuple[PeriodRef, ...], posts: tuple[Post, ...], number: int, total: int) -> dict[str, Any]:
    config = common.config
    sharing = collection_sharing(day, day.label, posts, number, config, _locator(config), _site_feeds(config))
    description = f"The {story_count} {'story' if story_count == 1 else 'stories'} of {day.label}."
    return {**_frame(common, day.label + _suffix(number), description, sharing),
            "period": day, "story_count": story_count, "posts": posts, "pagination": _pagination(day, number, total),
            "newer": newer, "older": older, "trail": trail}


def _search_context(common: Common, shards: tuple[Shard, ...]) -> dict[str, Any]:
    config = common.config
    return {**_frame(common, "Search", f"Search the stories of {config.title}.", _website_sharing(config)),
            "search_bundles": tuple(f"{config.base_path}{shard.folder}/" for shard in shards)}


def _not_found_context(common: Common, latest: tuple[Post, ...]) -> dict[str, Any]:
    sharing = _website_sharing(common.config)
    return {**_frame(common, "Page not found", "This page does not exist.", sharing), "latest": latest}


def _suffix(number: int) -> str:
    """What a list page's title adds after its first page."""
    return f" (page {number})" if number > 1 else ""
