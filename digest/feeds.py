"""Feeds and crawler files: Atom 1.0, JSON Feed 1.1, sitemap.xml, the Google News sitemap, robots.txt.

The pipeline writes what :func:`feed_files` returns next to the rendered pages. XML is built
with ``xml.etree`` and JSON with ``json``, never by pasting strings, so a title holding ``<``
or ``&`` cannot break a feed reader. Every date comes from content (the newest story), never
from the clock, so the same content always gives byte-identical files.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
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
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
NEWS_WINDOW = timedelta(hours=48)  # Google News lists articles of the last two days
NEWS_MAX_URLS = 1000  # and at most 1,000 of them per sitemap
EMPTY_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)  # "updated" of a feed with no entries: still deterministic

# Characters XML 1.0 forbids. content.py already drops them; a feed must stay parseable regardless.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@collector_paused()  # like build_site: the element trees are large and free of cycles
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
    entries = posts[: config.feed_size]
    feed = ET.Element("feed", {"xmlns": ATOM, "xmlns:media": MEDIA, XML_LANG: config.language})
    _add(feed, "id", absolute_url(config.base_url, self_url))
    _add(feed, "title", title)
    _add(feed, "subtitle", subtitle)
    _add(feed, "updated", _time(entries[0].published if entries else EMPTY_UPDATED))
    _add(feed, "link", rel="self", type="application/atom+xml", href=absolute_url(config.base_url, self_url))
    _add(feed, "link", rel="alternate", type="text/html", href=absolute_url(config.base_url, home))
    _add(feed, "generator", "news-digest")
    for post in entries:
        article = post.article
        page = absolute_url(config.base_url, url_for(post))
        entry = _add(feed, "entry")
        _add(entry, "id", page)
        _add(entry, "title", article.title)
        _add(entry, "link", rel="alternate", type="text/html", href=page)
        _add(entry, "link", rel="related", type="text/html", href=article.web_url)
        _add(entry, "published", _time(article.published))
        _add(entry, "updated", _time(article.published))
        author = _add(entry, "author")
        _add(author, "name", post.provider.name)
        _add(author, "uri", f"https://{post.provider.domain}/")
        for topic in post.topics:
            _add(entry, "category", term=topic.slug, label=topic.name)
        if article.excerpt:
            _add(entry, "summary", article.excerpt, type="text")
        if article.image:
            size = {"width": str(article.image.width), "height": str(article.image.height)} if article.image.width and article.image.height else {}
            _add(entry, "media:content", url=article.image.url, medium="image", **size)
    return _xml(feed)


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
    urlset = ET.Element("urlset", xmlns=SITEMAP)
    for page in pages:
        if not page.indexed:
            continue
        url = _add(urlset, "url")
        _add(url, "loc", absolute_url(config.base_url, page.url))
        if page.updated:
            _add(url, "lastmod", _time(page.updated))
    return _xml(urlset)


def news_sitemap(config: Config, posts: Sequence[Post]) -> bytes:
    """Google News sitemap: the articles of the 48 hours before the newest one (newest first)."""
    urlset = ET.Element("urlset", {"xmlns": SITEMAP, "xmlns:news": NEWS})
    cutoff = posts[0].published - NEWS_WINDOW if posts else None
    recent = [post for post in posts if cutoff and post.published >= cutoff][:NEWS_MAX_URLS]
    for post in recent:
        url = _add(urlset, "url")
        _add(url, "loc", absolute_url(config.base_url, url_for(post)))
        news = _add(url, "news:news")
        publication = _add(news, "news:publication")
        _add(publication, "news:name", config.title)
        _add(publication, "news:language", news_language(config.language))
        _add(news, "news:publication_date", _time(post.published))
        _add(news, "news:title", post.title)
    return _xml(urlset)


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


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """A child element; text and attribute values lose any character XML cannot carry."""
    element = ET.SubElement(parent, tag, {key: _NOT_XML.sub("", value) for key, value in attributes.items()})
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def _time(moment: datetime) -> str:
    """RFC 3339 in UTC ("2020-08-17T08:14:00Z"): what Atom, JSON Feed and sitemaps all accept."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _xml(root: ET.Element) -> bytes:
    """The document, indented; namespaces are declared as plain attributes on the root, so the
    prefixes are the conventional ones (``media:``, ``news:``) without touching global ET state.

    Serialised to text and encoded once: ``encoding="utf-8"`` would pass each of the sitemap's
    hundred thousand pieces through an encoder, and UTF-8 can encode every character ``_add`` keeps.
    """
    ET.indent(root)
    return f"<?xml version='1.0' encoding='utf-8'?>\n{ET.tostring(root, encoding='unicode')}\n".encode("utf-8")
