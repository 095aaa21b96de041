"""Plan stage: the complete list of pages, each a URL, a template and its context.

The URL scheme lives here and only here; templates ask :func:`url_for` for links.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from .archive import Archive, Period, PeriodRef, build_archive, neighbours
from .config import Config
from .content import collector_paused
from .search import Shard, plan_shards
from .meta import FeedLink, Locate, Sharing, article_sharing, collection_sharing, home_sharing
from .site import Card, Post, ProviderPage, ProviderRef, RelatedLink, Site, Topic, TopicRef


@dataclass(frozen=True)
class Page:
    url: str  # site-relative, starts with "/"; directory URLs end with "/"
    template: str
    context: dict[str, Any]
    updated: datetime | None = None  # newest story the page shows: the sitemap's lastmod
    indexed: bool = True  # listed in the sitemap (the 404 page is not)

    @property
    def output_path(self) -> str:
        """The file that serves this URL on any static host ("/a/" -> "a/index.html")."""
        path = self.url.lstrip("/")
        return path + "index.html" if not path or path.endswith("/") else path


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


def _paginate(owner: Topic | ProviderPage | Period, items: Sequence[Item], size: int) -> list[tuple[str, Sequence[Item], Pagination]]:
    total = max(1, -(-len(items) // size))
    pages = []
    for number in range(1, total + 1):
        pagination = Pagination(
            number=number,
            total=total,
            previous_url=url_for(owner, number - 1) if number > 1 else None,
            next_url=url_for(owner, number + 1) if number < total else None,
        )
        pages.append((url_for(owner, number), items[(number - 1) * size : number * size], pagination))
    return pages


@collector_paused()  # like build_site: every object made here lives on
def plan_pages(site: Site) -> list[Page]:
    """Every page of the site, in a fixed order (home, articles, topics, providers, archives, 404).

    A page's context is all its fingerprint sees (see incremental.py), so it holds what the page
    shows: a list page gets its topic, provider or period as a reference and its number of stories,
    never the whole list of posts, so editing one article re-renders only the pages that show it.
    """
    config = site.config
    archive = build_archive(site)
    common = _navigation(site, archive)
    # Every post's URL, once: sharing metadata asks for each post's again on every list that shows it.
    post_urls = {post.article.web_url: url_for(post) for post in site.posts}
    locate = _locator(config, post_urls)
    feeds = _site_feeds(config)
    pages = [
        Page("/", "home.html", {
            **common,
            "title": config.title,
            "description": config.description,
            "top": site.top,
            "sections": tuple((topic.ref, len(topic.posts), topic.cards[: config.home_topic_cards])
                              for topic in site.topics if topic.cards),
            "current_topic": None,
            "sharing": home_sharing(tuple(card.lead for card in site.top), config, locate, feeds),
        }, updated=site.posts[0].published if site.posts else None)
    ]
    articles = [_article_page(post, post_urls[post.article.web_url], site.related[post.article.web_url], config, common,
                              locate, feeds) for post in site.posts]
    pages += articles
    for topic in site.topics:
        topic_feeds = (FeedLink(topic_feed_url(topic), "application/atom+xml", f"{topic.ref.name} · {config.title} (Atom)"),) + feeds
        for url, cards, pagination in _paginate(topic, topic.cards, config.page_size):
            leads = tuple(card.lead for card in cards)
            suffix = f" (page {pagination.number})" if pagination.number > 1 else ""
            first = (pagination.number - 1) * config.page_size + 1
            pages.append(Page(url, "topic.html", {
                **common,
                "title": f"{topic.ref.name}{suffix}",
                "description": f"The latest {topic.ref.name} stories from {config.title}.",
                "topic": topic.ref,
                "story_count": len(topic.posts),
                "cards": cards,
                "pagination": pagination,
                "current_topic": topic.ref,
                "sharing": collection_sharing(topic, topic.ref.name, leads, first, pagination.number, config, locate, topic_feeds),
            }, updated=max((post.article.published for card in cards for post in (card.lead, *card.more)),
                           default=None)))
    for provider in site.providers:
        counts = topic_counts(provider.posts)
        for url, posts, pagination in _paginate(provider, provider.posts, config.page_size):
            suffix = f" (page {pagination.number})" if pagination.number > 1 else ""
            first = (pagination.number - 1) * config.page_size + 1
            pages.append(Page(url, "provider.html", {
                **common,
                "title": f"{provider.ref.name}{suffix}",
                "description": f"Stories from {provider.ref.name} ({provider.ref.domain}) on {config.title}.",
                "provider": provider.ref,
                "story_count": len(provider.posts),
                "topic_counts": counts,
                "posts": posts,
                "pagination": pagination,
                "current_topic": None,
                "sharing": collection_sharing(provider, provider.ref.name, posts, first, pagination.number, config, locate, feeds),
            }, updated=posts[0].published if posts else None))
    pages.append(Page(url_for("providers"), "providers.html", {
        **common,
        "title": "Sources",
        "description": f"Every outlet whose stories appear on {config.title}, with its number of stories.",
        "providers": tuple((p.ref, len(p.posts)) for p in sorted(site.providers, key=lambda p: (p.ref.name.casefold(), p.ref.slug))),
        "current_topic": None,
        "sharing": Sharing("website", feeds=feeds),
    }, updated=site.posts[0].published if site.posts else None))
    pages += _archive_pages(archive, config, common, locate, feeds)
    if config.search:
        shards = plan_shards([(post.article.web_url, page) for post, page in zip(site.posts, articles)
                              if page.context["searchable"]])
        pages.append(Page(url_for("search"), "search.html", {
            **common,
            "title": "Search",
            "description": f"Search the stories of {config.title}.",
            "search_bundles": tuple(f"{config.base_path}{shard.folder}/" for shard in shards),
            "search_shards": shards,  # what the build indexes (see search_shards): the page and the index agree
            "current_topic": None,
            "sharing": Sharing("website", feeds=feeds),
        }, updated=site.posts[0].published if site.posts else None))
    pages.append(Page("/404.html", "404.html", {
        **common,
        "title": "Page not found",
        "description": "This page does not exist.",
        "latest": site.listed[: config.home_topic_cards],
        "current_topic": None,
        "sharing": Sharing("website", feeds=feeds),
    }, indexed=False))
    return pages


def search_shards(pages: Sequence[Page]) -> tuple[Shard, ...]:
    """The shards of the search index as the plan's search page lists them (none when the site has
    no search): planned once, so the build indexes exactly the bundles the page loads."""
    search = url_for("search")
    return next((page.context["search_shards"] for page in reversed(pages) if page.url == search), ())


_NAVIGATION = ("nav_topics", "nav_archive")  # what every page's context holds besides its own values


def _navigation(site: Site, archive: Archive) -> dict[str, Any]:
    topics = tuple(topic.ref for topic in site.topics)
    # A URL, not the Period: every page shows this link, and a Period holds a year of posts,
    # so passing it would make every page depend on every article of the year (see incremental.py).
    newest_year = url_for(archive.years[0]) if archive.years else None
    return dict(zip(_NAVIGATION, (topics, newest_year)))


def _locator(config: Config, post_urls: dict[str, str]) -> Locate:
    """Absolute URLs under the site's ``base_url``, for sharing metadata; a post's from ``post_urls``
    (by web URL) when it is there."""
    base_url = config.base_url
    post_locations = {web_url: absolute_url(base_url, url) for web_url, url in post_urls.items()}
    # Named pages and topics by themselves: every page asks for the home page's URL and every article
    # page for its topic's (22,000 of the plan's 76,000 calls at 10,000 articles). Both hash cheaply,
    # unlike a Topic or a Period, which hash all their posts.
    refs: dict[str | TopicRef, str] = {}

    def locate(obj: Post | Topic | TopicRef | ProviderPage | ProviderRef | Period | str, page: int = 1) -> str:
        kind = type(obj)
        if kind is Post:
            found = post_locations.get(obj.article.web_url)
            if found is not None:
                return found
        elif page == 1 and (kind is str or kind is TopicRef):
            found = refs.get(obj)
            if found is None:
                found = refs[obj] = absolute_url(base_url, url_for(obj))
            return found
        return absolute_url(base_url, url_for(obj, page))
    return locate


def _site_feeds(config: Config) -> tuple[FeedLink, ...]:
    return (FeedLink(url_for("feed"), "application/atom+xml", f"{config.title} (Atom)"),
            FeedLink(url_for("json_feed"), "application/feed+json", f"{config.title} (JSON Feed)"))


def _article_page(post: Post, url: str, related: tuple[RelatedLink, ...], config: Config, common: dict[str, Any],
                  locate: Locate, feeds: tuple[FeedLink, ...]) -> Page:
    article = post.article
    return Page(url, "article.html", {
        **common,
        "title": article.title,
        "description": article.excerpt or article.title,
        "post": post,
        "related": related,
        "searchable": config.search and not article.draft,  # only these are in the search index
        "current_topic": post.topics[0] if post.topics else None,
        "sharing": article_sharing(post, config, locate, feeds),
    }, updated=post.published)


def replan_article(page: Page, post: Post, config: Config) -> Page:
    """``page``, an article page of the last plan, again for an edited ``post`` at the same URL.

    Only the article itself is new: its related stories and the navigation are the last plan's,
    which the preview's next full build brings up to date (see :mod:`digest.fastrender`).
    """
    common = {key: page.context[key] for key in _NAVIGATION}
    return _article_page(post, page.url, page.context["related"], config, common, _locator(config, {}), _site_feeds(config))


def topic_counts(posts: tuple[Post, ...]) -> tuple[tuple[TopicRef, int], ...]:
    """How many of ``posts`` carry each topic: most first, ties by topic name."""
    counts = Counter(ref for post in posts for ref in post.topics)  # hashes each ref once (a Python call), not twice
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].name.casefold(), kv[0].slug)))


def _archive_pages(archive: Archive, config: Config, common: dict[str, Any], locate: Locate,
                   feeds: tuple[FeedLink, ...]) -> list[Page]:
    """Year and month indexes (their months and days, with counts) and paginated day pages."""
    pages = []
    for periods in (archive.years, archive.months):
        for index, period in enumerate(periods):
            newer, older = neighbours(periods, index)
            pages.append(Page(url_for(period), "archive.html", {
                **common,
                "title": period.label,
                "description": f"Every story published in {period.label}, by {'month' if period.kind == 'year' else 'day'}.",
                "period": period.ref,
                "story_count": len(period.posts),
                "children": tuple((child.ref, len(child.posts)) for child in archive.within(period)),
                "newer": newer and newer.ref,
                "older": older and older.ref,
                "trail": _trail(archive, period),
                "current_topic": None,
                "sharing": Sharing("website", feeds=feeds),
            }, updated=period.posts[0].published if period.posts else None))
    for index, day in enumerate(archive.days):
        newer, older = neighbours(archive.days, index)
        for url, posts, pagination in _paginate(day, day.posts, config.page_size):
            suffix = f" (page {pagination.number})" if pagination.number > 1 else ""
            first = (pagination.number - 1) * config.page_size + 1
            pages.append(Page(url, "day.html", {
                **common,
                "title": f"{day.label}{suffix}",
                "description": f"The {len(day.posts)} {'story' if len(day.posts) == 1 else 'stories'} of {day.label}.",
                "period": day.ref,
                "story_count": len(day.posts),
                "posts": posts,
                "pagination": pagination,
                "newer": newer and newer.ref,
                "older": older and older.ref,
                "trail": _trail(archive, day),
                "current_topic": None,
                "sharing": collection_sharing(day, day.label, posts, first, pagination.number, config, locate, feeds),
            }, updated=posts[0].published if posts else None))
    return pages


def _trail(archive: Archive, period: Period) -> tuple[PeriodRef, ...]:
    """The larger periods holding ``period`` (its year, then its month), for breadcrumbs."""
    year = next(y for y in archive.years if y.start.year == period.start.year)
    if period.kind == "year":
        return ()
    if period.kind == "month":
        return (year.ref,)
    return (year.ref, next(m for m in archive.within(year) if m.start.month == period.start.month).ref)
