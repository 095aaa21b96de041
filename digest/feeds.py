"""Feeds and crawler files: Atom 1.0, JSON Feed 1.1, sitemap.xml, the Google News sitemap, robots.txt.

The pipeline writes what :func:`feed_files` returns next to the rendered pages. JSON is made
by ``json``; XML is printed by :func:`_element`, which escapes every text and attribute value
through :func:`_escape` (and drops the characters XML 1.0 forbids), so a title holding ``<`` or
``&`` cannot break a feed reader. It prints what ``xml.etree`` did, without building a tree
first: at 10,000 articles that took a tenth of a second a build. Every date comes from content
(the newest story), never from the clock, so the same content always gives byte-identical files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from .config import Config
from .content import collector_paused
from .pages import Page, absolute_url, topic_feed_url, url_for
from .site import Post, Site

ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
NEWS_WINDOW = timedelta(hours=48)  # Google News lists articles of the last two days
NEWS_MAX_URLS = 1000  # and at most 1,000 of them per sitemap
EMPTY_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)  # "updated" of a feed with no entries: still deterministic

# Characters XML 1.0 forbids. content.py already drops them; a feed must stay parseable regardless.
# Listed, not as the complement of the allowed ranges: that class takes 3 ms to compile, every build.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What _escape turns into character references in a text and in an attribute value (quoted with ").
_TEXT = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
# Attribute values also escape the quote, and line breaks and tabs, which a parser would otherwise normalise to spaces.
_ATTRIBUTE = (*_TEXT, ('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


@collector_paused()  # like build_site: some fifty thousand short-lived strings and lists, no cycle
def feed_files(site: Site, pages: Iterable[Page]) -> list[tuple[str, bytes]]:
    """Every feed and crawler file of the site as (output path, bytes), in a fixed order."""
    config = site.config
    home = url_for("home")
    files = [
        (url_for("feed"), atom_feed(config, config.title, config.description, home, url_for("feed"), site.listed)),
        (url_for("json_feed"), json_feed(config, site.listed)),
    ]
    for topic in site.topics:
        title = f"{topic.ref.name} · {config.title}"
        subtitle = f"The latest {topic.ref.name} stories from {config.title}."
        files.append((topic_feed_url(topic), atom_feed(config, title, subtitle, url_for(topic), topic_feed_url(topic), topic.posts)))
    files += [
        (url_for("sitemap"), sitemap(config, pages)),
        (url_for("news_sitemap"), news_sitemap(config, site.posts)),
        (url_for("robots"), robots_txt(config)),
    ]
    return [(url.lstrip("/"), data) for url, data in files]


def atom_feed(config: Config, title: str, subtitle: str, home: str, self_url: str, posts: Sequence[Post]) -> bytes:
    """An Atom 1.0 feed of the newest ``feed_size`` posts; ``home`` and ``self_url`` are site-relative."""
    shown = posts[: config.feed_size]
    entries = []
    for post in shown:
        article = post.article
        page = absolute_url(config.base_url, url_for(post))
        author = [_element("name", post.provider.name), _element("uri", f"https://{post.provider.domain}/")]
        children = [
            _element("id", page),
            _element("title", article.title),
            _element("link", rel="alternate", type="text/html", href=page),
            _element("link", rel="related", type="text/html", href=article.web_url),
            _element("published", _time(article.published)),
            _element("updated", _time(article.published)),
            _element("author", author, 2),
        ]
        children += [_element("category", term=topic.slug, label=topic.name) for topic in post.topics]
        if article.excerpt:
            children.append(_element("summary", article.excerpt, type="text"))
        if article.image:
            size = {"width": str(article.image.width), "height": str(article.image.height)} if article.image.width and article.image.height else {}
            children.append(_element("media:content", url=article.image.url, medium="image", **size))
        entries.append(_element("entry", children, 1))
    head = [
        _element("id", absolute_url(config.base_url, self_url)),
        _element("title", title),
        _element("subtitle", subtitle),
        _element("updated", _time(shown[0].published if shown else EMPTY_UPDATED)),
        _element("link", rel="self", type="application/atom+xml", href=absolute_url(config.base_url, self_url)),
        _element("link", rel="alternate", type="text/html", href=absolute_url(config.base_url, home)),
        _element("generator", "news-digest"),
    ]
    return _xml(_element("feed", head + entries, 0, **{"xmlns": ATOM, "xmlns:media": MEDIA, "xml:lang": config.language}))


def json_feed(config: Config, posts: Sequence[Post]) -> bytes:
    """JSON Feed 1.1 with the same entries as the site's Atom feed."""
    items = []
    for post in posts[: config.feed_size]:
        article = post.article
        page = absolute_url(config.base_url, url_for(post))
        item: dict[str, object] = {
            "id": page,
            "url": page,
            "external_url": article.web_url,
            "title": article.title,
            "content_text": article.excerpt or article.title,
        }
        if article.excerpt:
            item["summary"] = article.excerpt
        if article.image:
            item["image"] = article.image.url
        item["date_published"] = _time(article.published)
        item["authors"] = [{"name": post.provider.name, "url": f"https://{post.provider.domain}/"}]
        if post.topics:
            item["tags"] = [topic.name for topic in post.topics]
        items.append(item)
    feed = {
        "version": JSON_FEED_VERSION,
        "title": config.title,
        "home_page_url": absolute_url(config.base_url, url_for("home")),
        "feed_url": absolute_url(config.base_url, url_for("json_feed")),
        "description": config.description,
        "language": config.language,
        "items": items,
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def sitemap(config: Config, pages: Iterable[Page]) -> bytes:
    """Every indexed HTML page with the date of the newest story it shows as ``lastmod``."""
    # One row per page, printed directly (the layout _element gives): a sitemap has a row for
    # every page of the site, and this takes half the time of three _element calls a row.
    # The URL is escaped: the base once, then each page's part (escaping works character by
    # character, so that is the escaped whole); base_url is absolute, so it is never empty; a date
    # needs no escaping.
    base = _escape(absolute_url(config.base_url, ""))
    urls = []
    for page in pages:
        if page.indexed:
            lastmod = f"\n    <lastmod>{_time(page.updated)}</lastmod>" if page.updated else ""
            urls.append(f"<url>\n    <loc>{base}{_escape(page.url.lstrip('/'))}</loc>{lastmod}\n  </url>")
    return _xml(_element("urlset", urls, 0, xmlns=SITEMAP))


def news_sitemap(config: Config, posts: Sequence[Post]) -> bytes:
    """Google News sitemap: the articles of the 48 hours before the newest one (newest first)."""
    cutoff = posts[0].published - NEWS_WINDOW if posts else None
    recent = [post for post in posts if cutoff and post.published >= cutoff][:NEWS_MAX_URLS]
    publication = _element("news:publication", [_element("news:name", config.title),
                                                _element("news:language", news_language(config.language))], 3)
    urls = []
    for post in recent:
        news = [publication, _element("news:publication_date", _time(post.published)), _element("news:title", post.title)]
        urls.append(_element("url", [_element("loc", absolute_url(config.base_url, url_for(post))),
                                     _element("news:news", news, 2)], 1))
    return _xml(_element("urlset", urls, 0, **{"xmlns": SITEMAP, "xmlns:news": NEWS}))


def news_language(language: str) -> str:
    """Google News wants an ISO 639 code ("en" for "en-GB"); only Chinese keeps its script ("zh-tw")."""
    tag = language.lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-tw" if tag in ("zh-tw", "zh-hk", "zh-hant") or tag.startswith("zh-hant") else "zh-cn"
    return tag.split("-")[0]


def robots_txt(config: Config) -> bytes:
    """Allow everything and point crawlers at both sitemaps (absolute URLs, as the format requires)."""
    lines = [
        "User-agent: *",
        "Disallow:",
        "",
        f"Sitemap: {absolute_url(config.base_url, url_for('sitemap'))}",
        f"Sitemap: {absolute_url(config.base_url, url_for('news_sitemap'))}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _element(tag: str, content: str | list[str] | None = None, depth: int = 0, **attributes: str) -> str:
    """One element printed as XML text, indented two spaces a level (``depth``: the element's own).

    ``content`` is the element's text or its children, printed one level deeper; with neither
    (or an empty text) it closes itself. Every text and attribute value goes through
    :func:`_escape` here, so no caller can forget it. Tags and attribute names are this
    module's constants, never content. The layout is the one ``xml.etree``'s ``indent`` and
    ``tostring`` print, byte for byte (the tests compare the two).
    """
    start = tag
    for name, value in attributes.items():
        start += f' {name}="{_escape(value, _ATTRIBUTE)}"'
    if isinstance(content, list):
        if content:
            indent = "\n" + "  " * (depth + 1)
            return f"<{start}>{indent}{indent.join(content)}\n{'  ' * depth}</{tag}>"
    elif content and (text := _escape(content)):
        return f"<{start}>{text}</{tag}>"
    return f"<{start} />"


def _escape(value: str, replacements: tuple[tuple[str, str], ...] = _TEXT) -> str:
    """``value`` without the characters XML cannot carry, with markup characters as references."""
    value = _NOT_XML.sub("", value)
    for char, reference in replacements:
        if char in value:
            value = value.replace(char, reference)
    return value


def _time(moment: datetime) -> str:
    """RFC 3339 in UTC ("2020-08-17T08:14:00Z"): what Atom, JSON Feed and sitemaps all accept."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _xml(root: str) -> bytes:
    """The document: the XML declaration, the root element and a final line break, in UTF-8
    (which can encode every character :func:`_escape` keeps)."""
    return f"<?xml version='1.0' encoding='utf-8'?>\n{root}\n".encode("utf-8")
