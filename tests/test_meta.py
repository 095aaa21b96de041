"""Sharing metadata in every page head: canonical, Open Graph, Twitter card, feed links, JSON-LD."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timezone
from html.parser import HTMLParser
from pathlib import Path

from digest.content import load_articles
from digest.meta import json_ld
from tests.helpers import ROOT, write_article

BASE = "https://user.github.io/digest/"
HOSTILE = '</script><script>alert(1)</script><!-- "&amp; </SCRIPT >'


@dataclass
class Head:
    """What a crawler reads from a page: meta properties, links, scripts, and every href/src."""

    meta: dict[str, str] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    scripts: list[dict[str, str]] = field(default_factory=list)  # attributes, plus "text"
    urls: list[str] = field(default_factory=list)  # every href and src in the document


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.head = Head()
        self._script: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in a or "name" in a):
            self.head.meta[a.get("property") or a["name"]] = a.get("content", "")
        elif tag == "link":
            self.head.links.append(a)
        elif tag == "script":
            self._script = {**a, "text": ""}
            self.head.scripts.append(self._script)
        self.head.urls += [a[key] for key in ("href", "src") if key in a]

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None


def read_page(path: Path) -> Head:
    reader = _Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader.head


def graph(head: Head) -> dict[str, dict]:
    """The JSON-LD nodes of a page by @type (every block must parse as JSON)."""
    nodes = {}
    for script in head.scripts:
        assert script["type"] == "application/ld+json"
        data = json.loads(script["text"])
        assert data["@context"] == "https://schema.org"
        nodes.update({node["@type"]: node for node in data["@graph"]})
    return nodes


def test_article_pages_carry_open_graph_twitter_and_news_article(site_builder):
    _, output = site_builder(ROOT / "content", config=ROOT / "site.yaml", base_url=BASE)
    articles = load_articles(ROOT / "content", timezone.utc).articles
    heads = {path: read_page(path) for path in output.glob("20*/*/*/*/index.html")}
    assert len(heads) == len(articles) == 4
    for article in articles:
        page, head = next((p, h) for p, h in heads.items() if h.meta["og:title"] == article.title)
        url = BASE + page.parent.relative_to(output).as_posix() + "/"
        assert head.meta["og:type"] == "article"
        assert head.meta["og:url"] == url
        assert [l["href"] for l in head.links if l.get("rel") == "canonical"] == [url]
        if article.image:
            assert head.meta["og:image"] == article.image.url
            assert (head.meta["og:image:width"], head.meta["og:image:height"]) == (str(article.image.width), str(article.image.height))
            assert head.meta["twitter:card"] == "summary_large_image"
        else:  # no image: no image claimed, and the small card
            assert "og:image" not in head.meta and head.meta["twitter:card"] == "summary"
        assert head.meta["article:published_time"] == article.published.isoformat()
        assert head.meta["article:section"] == article.topics[0]
        assert head.meta["description"] == article.excerpt
        nodes = graph(head)
        news = nodes["NewsArticle"]
        assert news["headline"] == article.title
        assert news["datePublished"] == article.published.isoformat()
        assert [node["url"] for node in news.get("image", [])] == ([article.image.url] if article.image else [])
        assert news["publisher"] == {"@type": "Organization", "name": article.provider.name,
                                     "url": f"https://{article.provider.domain}/"}
        assert news["isBasedOn"] == news["url"] == article.web_url
        assert news["mainEntityOfPage"] == url
        crumbs = nodes["BreadcrumbList"]["itemListElement"]
        assert [c["position"] for c in crumbs] == [1, 2, 3]
        assert [c["item"] for c in crumbs] == [BASE, BASE + "topics/computer-vision/", url]


def test_topic_pages_list_their_stories_and_link_their_own_feed_first(site_builder, tmp_path: Path):
    content = tmp_path / "content"
    for n in range(5):
        write_article(content, f"{n}.md", title=f"Story {n}", webUrl=f"https://example.com/{n}",
                      publishedDateTime=f"2024-05-0{n + 1}T10:00:00Z", topics=["AI"])
    config = tmp_path / "site.yaml"
    config.write_text(f"base_url: {BASE}\npage_size: 2\n")
    _, output = site_builder(content, config=config)
    head = read_page(output / "topics/ai/page/2/index.html")
    feeds = [(l["type"], l["href"]) for l in head.links if l.get("rel") == "alternate"]
    assert feeds == [("application/atom+xml", "/digest/topics/ai/feed.xml"),
                     ("application/atom+xml", "/digest/feed.xml"),
                     ("application/feed+json", "/digest/feed.json")]
    nodes = graph(head)
    assert nodes["CollectionPage"]["url"] == BASE + "topics/ai/page/2/"
    items = nodes["CollectionPage"]["mainEntity"]["itemListElement"]
    assert [i["position"] for i in items] == [3, 4]
    for item in items:
        assert (output / item["url"].removeprefix(BASE) / "index.html").is_file()
    assert [c["item"] for c in nodes["BreadcrumbList"]["itemListElement"]] == [BASE, BASE + "topics/ai/"]
    assert head.meta["og:type"] == "website"
    home = read_page(output / "index.html")
    assert graph(home)["WebSite"]["url"] == BASE
    assert ("application/atom+xml", "/digest/feed.xml") in [(l["type"], l["href"]) for l in home.links if l.get("rel") == "alternate"]


def test_a_hostile_title_cannot_leave_the_json_ld_script(site_builder, tmp_path: Path):
    content = tmp_path / "content"
    write_article(content, "evil.md", title=HOSTILE, excerpt=HOSTILE, topics=[HOSTILE])
    _, output = site_builder(content, base_url=BASE)
    pages = list(output.rglob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        head = read_page(page)
        # JSON-LD, or the search page's own scripts from the site itself
        assert all(s.get("type") == "application/ld+json" or s.get("src", "").startswith("/") for s in head.scripts), page
        for script in head.scripts:
            assert "<" not in script["text"] and ">" not in script["text"] and "&" not in script["text"]
    article = read_page(next(output.glob("20*/*/*/*/index.html")))
    assert len(article.scripts) == 1
    assert graph(article)["NewsArticle"]["headline"] == HOSTILE
    assert article.meta["og:title"] == HOSTILE


def test_json_ld_escaping_round_trips():
    text = json_ld(json.dumps({"name": HOSTILE + "\u2028"}, ensure_ascii=False))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["@graph"] == [{"name": HOSTILE + "\u2028"}]


def test_json_ld_is_written_byte_for_byte_as_json_dumps_writes_it(site_builder, tmp_path: Path):
    """meta.py writes the graphs by hand for speed: same bytes as json.dumps of the same values."""
    content = tmp_path / "content"
    odd = HOSTILE + ' \\ \u2028\u2029 \x7f é 日本 🚀 \t'
    write_article(content, "evil.md", title=odd, excerpt=odd, topics=[odd, "AI"],
                  provider={"name": odd, "domain": "evil.example"},
                  images=[{"url": "https://images.example/a.jpg?x=<1>&y=\"2\"", "width": 640, "height": 480}])
    write_article(content, "plain.md", title="Plain", webUrl="https://example.com/plain", topics=[],
                  images=[{"url": "https://images.example/b.jpg"}])
    config = tmp_path / "site.yaml"
    config.write_text(f"base_url: {BASE}\nsearch: false\ntitle: '{HOSTILE.replace(chr(39), chr(39) * 2)}'\ndescription: '{odd.replace(chr(0x7f), '')}'\n")
    _, output = site_builder(content, config=config)
    scripts = [script["text"] for page in output.rglob("*.html") for script in read_page(page).scripts
               if script.get("type") == "application/ld+json"]
    assert len(scripts) >= 8
    for text in scripts:
        again = json_ld(*(json.dumps(node, ensure_ascii=False) for node in json.loads(text)["@graph"]))
        assert text == again == json.dumps(json.loads(text), ensure_ascii=False).replace("&", "\\u0026").replace(
            "<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
