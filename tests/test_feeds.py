"""Feeds, sitemaps and robots.txt, read back the way feed readers and crawlers read them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from digest.config import Config
from digest.content import load_articles
from digest.feeds import _element, atom_feed, news_language
from digest.site import build_site
from tests.helpers import ROOT, write_article
from tests.test_site import art

BASE = "https://user.github.io/digest/"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def local_file(output: Path, url: str) -> Path:
    """The output file that serves an absolute URL of the site."""
    assert url.startswith(BASE), url
    rel = url.removeprefix(BASE)
    return output / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def sample(site_builder):
    result, output = site_builder(ROOT / "content", config=ROOT / "site.yaml", base_url=BASE)
    assert result.errors == ()
    return output


def sources() -> dict[str, object]:
    """The sample articles as the content stage reads them, by their original URL."""
    return {a.web_url: a for a in load_articles(ROOT / "content", timezone.utc).articles}


def test_site_atom_feed_parses_and_matches_the_source_articles(sample: Path):
    feed = feedparser.parse((sample / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "News Digest"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [BASE + "feed.xml"]
    articles = sources()
    assert len(feed.entries) == len(articles) == 4
    published = []
    for entry in feed.entries:
        related = [link.href for link in entry.links if link.rel == "related"]
        assert len(related) == 1
        article = articles[related[0]]
        assert entry.title == article.title
        assert local_file(sample, entry.link).is_file()
        assert entry.id == entry.link
        assert utc(entry.published) == article.published
        assert entry.author == article.provider.name
        assert entry.summary == article.excerpt
        if article.image:
            assert entry.media_content[0]["url"] == article.image.url
            assert (entry.media_content[0]["width"], entry.media_content[0]["height"]) == (str(article.image.width), str(article.image.height))
        else:  # the sample's made-up second report has no image, and its entry claims none
            assert "media_content" not in entry
        assert {tag.label for tag in entry.tags} == set(article.topics)
        published.append(article.published)
    assert published == sorted(published, reverse=True)
    assert utc(feed.feed.updated) == published[0]


def test_topic_feeds_hold_the_newest_feed_size_stories_of_their_topic(site_builder, tmp_path: Path):
    content = tmp_path / "content"
    for n in range(5):
        write_article(content, f"ai{n}.md", title=f"AI story {n}", webUrl=f"https://example.com/ai{n}",
                      publishedDateTime=f"2024-05-0{n + 1}T10:00:00Z", topics=["AI"])
    write_article(content, "robots.md", title="Robot story", webUrl="https://example.com/robots", topics=["Robots"])
    config = tmp_path / "site.yaml"
    config.write_text(f"base_url: {BASE}\nfeed_size: 3\n")
    result, output = site_builder(content, config=config)
    ai = feedparser.parse((output / "topics/ai/feed.xml").read_bytes())
    assert not ai.bozo
    assert ai.feed.title == "AI · News Digest"
    assert [e.title for e in ai.entries] == ["AI story 4", "AI story 3", "AI story 2"]
    robots = feedparser.parse((output / "topics/robots/feed.xml").read_bytes())
    assert [e.title for e in robots.entries] == ["Robot story"]
    everything = feedparser.parse((output / "feed.xml").read_bytes())
    assert len(everything.entries) == 3


def test_json_feed_has_the_required_fields_of_version_1_1(sample: Path):
    feed = json.loads((sample / "feed.json").read_bytes())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert feed["home_page_url"] == BASE and feed["feed_url"] == BASE + "feed.json"
    assert isinstance(feed["items"], list)
    atom = feedparser.parse((sample / "feed.xml").read_bytes())
    assert [item["url"] for item in feed["items"]] == [entry.link for entry in atom.entries]
    articles = sources()
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_text", item.get("content_html")), str)
        article = articles[item["external_url"]]
        assert item["title"] == article.title
        assert utc(item["date_published"]) == article.published
        assert item.get("image") == (article.image.url if article.image else None)
        assert item["authors"] == [{"name": article.provider.name, "url": f"https://{article.provider.domain}/"}]
        assert local_file(sample, item["url"]).is_file()


def test_every_sitemap_url_is_a_built_page_and_every_page_is_listed(sample: Path):
    root = ET.parse(sample / "sitemap.xml").getroot()
    urls = {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in root.iter(f"{SM}url")}
    files = {local_file(sample, url) for url in urls}
    assert all(path.is_file() for path in files)
    html = {p for p in sample.rglob("*.html")} - {sample / "404.html"}
    assert files == html
    for lastmod in urls.values():
        assert utc(lastmod).year == 2020
    assert urls[BASE] == "2020-08-21T05:25:00Z"


def test_news_sitemap_lists_the_48_hours_before_the_newest_story(site_builder, tmp_path: Path):
    content = tmp_path / "content"
    for name, when in (("new", "2024-05-03T12:00:00Z"), ("edge", "2024-05-01T12:00:00Z"), ("old", "2024-05-01T11:59:00Z")):
        write_article(content, f"{name}.md", title=f"{name} story", webUrl=f"https://example.com/{name}", publishedDateTime=when)
    _, output = site_builder(content, base_url=BASE)
    root = ET.parse(output / "news-sitemap.xml").getroot()
    titles = [u.findtext(f"{NEWS}news/{NEWS}title") for u in root.iter(f"{SM}url")]
    assert titles == ["new story", "edge story"]
    for url in root.iter(f"{SM}url"):
        assert local_file(output, url.findtext(f"{SM}loc")).is_file()
        assert url.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}name") == "News Digest"


def test_robots_txt_points_at_both_sitemaps(sample: Path):
    lines = (sample / "robots.txt").read_text().splitlines()
    sitemaps = [line.removeprefix("Sitemap: ") for line in lines if line.startswith("Sitemap: ")]
    assert sitemaps == [BASE + "sitemap.xml", BASE + "news-sitemap.xml"]
    assert all(local_file(sample, url).is_file() for url in sitemaps)
    assert "User-agent: *" in lines


def test_hostile_text_cannot_break_the_xml():
    title = 'A </title><script>alert(1)</script> & "quotes" \x0b\ud800 end'
    site = build_site((art(1, title=title, excerpt="]]> <!-- x"),), Config(base_url=BASE))
    feed = feedparser.parse(atom_feed(site.config, "t", "s", "/", "/feed.xml", site.posts))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries[0].title == 'A </title><script>alert(1)</script> & "quotes"  end'
    assert feed.entries[0].summary == "]]> <!-- x"


def legal_xml(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return "".join(c for c in text if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000")


XML_SPECIALS = '&<>"\'\t\n\r\x00\x0b\x1f\ud800\udfff\ufffe\uffff]]>;#'
hostile_text = st.text(st.one_of(st.characters(), st.sampled_from(XML_SPECIALS)))


@given(text=hostile_text, value=hostile_text)
@example(text=XML_SPECIALS + " é \U0001f600", value=XML_SPECIALS + " é \U0001f600")
@example(text="\x00", value="")  # nothing left to print: both close the element by itself
def test_the_xml_writer_prints_what_elementtree_prints_and_reads_back(text: str, value: str):
    """The feeds were printed with xml.etree (indent + tostring): the writer that replaced it prints
    the same bytes, whatever the text and attribute values hold, and a parser reads the values back."""
    root = ET.Element("feed", {"xmlns": "urn:x", "{http://www.w3.org/XML/1998/namespace}lang": legal_xml(value)})
    entry = ET.SubElement(root, "entry")
    ET.SubElement(entry, "title").text = legal_xml(text)
    ET.SubElement(entry, "link", rel="related", href=legal_xml(value))
    ET.SubElement(root, "empty")
    ET.indent(root)
    printed = _element("feed", [
        _element("entry", [_element("title", text), _element("link", rel="related", href=value)], 1),
        _element("empty"),
    ], **{"xmlns": "urn:x", "xml:lang": value})
    assert printed == ET.tostring(root, encoding="unicode")
    parsed = ET.fromstring(printed)
    assert parsed.find("{urn:x}entry/{urn:x}link").get("href") == legal_xml(value)
    assert (parsed.find("{urn:x}entry/{urn:x}title").text or "") == legal_xml(text).replace("\r\n", "\n").replace("\r", "\n")


def test_an_empty_site_still_has_valid_feeds(site_builder, tmp_path: Path):
    (tmp_path / "content").mkdir()
    _, output = site_builder(tmp_path / "content", base_url=BASE)
    feed = feedparser.parse((output / "feed.xml").read_bytes())
    assert not feed.bozo and feed.entries == []
    assert json.loads((output / "feed.json").read_bytes())["items"] == []
    assert ET.parse(output / "news-sitemap.xml").getroot().findall(f"{SM}url") == []


def test_feed_times_are_utc_whatever_the_site_zone():
    when = datetime(2024, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=-4)))
    site = build_site((art(1, published=when),), Config(base_url=BASE, timezone="America/New_York"))
    feed = feedparser.parse(atom_feed(site.config, "t", "s", "/", "/feed.xml", site.posts))
    assert feed.entries[0].published == "2024-05-02T03:30:00Z"


@pytest.mark.parametrize("language, code", [("en", "en"), ("en-GB", "en"), ("pt_BR", "pt"), ("zh-Hant-TW", "zh-tw"),
                                            ("zh-TW", "zh-tw"), ("zh-CN", "zh-cn"), ("zh", "zh-cn")])
def test_news_sitemap_language_is_what_google_news_accepts(language: str, code: str):
    assert news_language(language) == code
