"""Load stage: the seed loads as it is; every kind of broken file is one path:line problem."""

from __future__ import annotations

import gc
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from benchmarks.corpus import write_corpus
from digest import content, fastyaml
from digest.cache import BuildCache
from digest.content import load_articles, parse_article, render_body, safe_url
from tests.helpers import ROOT, SEED, article_text, write_article

UTC = ZoneInfo("UTC")


def parse(text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_article(data, "a.md", UTC)


def test_reference_file_loads_exactly_as_it_is():
    article, problems = parse(SEED.read_bytes())
    assert problems == []
    assert article.title == "De Blasio calls for ‘clear standards’ for facial recognition tech for NYPD"
    assert article.published == datetime(2020, 8, 17, 8, 14, tzinfo=timezone.utc)
    assert article.provider.name == "New York Post" and article.provider.domain == "nypost.com"
    assert article.topics == ("Computer Vision", "AI")
    assert article.quality == 57 and article.heat == 77 and not article.draft
    assert article.images[0].width == 1200 and article.images[0].height == 800
    assert article.amp_url.endswith("/amp/")
    assert [s.provider.name for s in article.related] == ["City A.M.", "The Star"]
    assert article.related[1].published == datetime(2020, 8, 18, 0, 46, tzinfo=timezone.utc)


def test_secured_and_unknown_keys_are_not_kept():
    article, _ = parse(SEED.read_bytes())
    assert "cCzEkQ" not in repr(article)
    article, _ = parse(article_text(unknownKey="<b>x</b>"))
    assert "unknownKey" not in repr(article) and "<b>x</b>" not in repr(article)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "file is empty"),
        ("just text, no front matter\n", 1, "no YAML front matter"),
        ("---\ntitle: x\n", 1, "not closed"),
        ("---\n---\nbody\n", 2, "front matter is empty"),
        ("---\n- a\n- b\n---\n", 2, "must be a mapping"),
        ("---\ntitle: [unclosed\nwebUrl: x\n---\n", 3, "invalid YAML"),
        ("---\ntitle: x\npublishedDateTime: 2024-01-01T00:00:00Z\nwebUrl: https://e.com/\ntitle2: !!python/object/apply:os.system ['ls']\n---\n", 5, "YAML tag"),
        ("---\ntitle: !custom x\n---\n", 2, "YAML tag"),
        ("---\na: &a [1, 2]\nb: *a\n---\n", 3, "aliases"),
        (article_text(title=""), 2, "'title'"),
        (article_text(title=None), 2, "'title'"),
        (article_text(publishedDateTime=None), 2, "'publishedDateTime'"),
        (article_text(publishedDateTime="yesterday"), 3, "not an ISO 8601 date"),
        (article_text(webUrl=None), 2, "'webUrl'"),
        (article_text(webUrl="javascript:alert(1)"), 4, "http(s) URL"),
    ],
)
def test_broken_files_are_reported_with_their_line(text, line, message):
    article, problems = parse(text)
    assert article is None
    assert len(problems) == 1
    assert problems[0].line == line, str(problems[0])
    assert message in problems[0].message
    assert str(problems[0]).startswith(f"a.md:{line}: ")


def test_problems_in_plain_front_matter_have_the_lines_pyyaml_gives():
    text = "\n".join([
        "---", "title: A story", "publishedDateTime: 2024-05-01T10:00:00Z", "webUrl: https://e.com/a",
        "quality: high", "images:", "  - url: javascript:alert(1)", "related:", "  - excerpt: no title", "---", "",
    ])
    assert fastyaml.load(content._split(text)[0]) is not None  # the fast path reads it, and hands problems back
    article, problems = parse(text)
    assert article.title == "A story"
    assert [(p.line, p.warning) for p in problems] == [(5, True), (7, True), (9, True)], problems
    _, problems = parse(text.replace("title: A story\n", "title:\n"))
    assert [(p.line, p.message) for p in problems] == [(2, "missing or empty required field 'title'")]


def test_invalid_utf8_and_binary_files_are_reported():
    _, problems = parse(b"---\ntitle: caf\xe9\n---\n")
    assert problems[0].line == 2 and "UTF-8" in problems[0].message
    _, problems = parse(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "binary" in problems[0].message


def test_alias_bomb_is_refused_quickly():
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9)
    ) + "---\n"
    article, problems = parse(bomb)
    assert article is None and "aliases" in problems[0].message


def test_dates_with_offsets_and_without_zone():
    article, _ = parse(article_text(publishedDateTime="2024-05-01T10:00:00+05:30"))
    assert article.published.utcoffset() == timedelta(hours=5, minutes=30)
    article, _ = parse_article(article_text(publishedDateTime="2024-05-01 10:00").encode(), "a.md", ZoneInfo("Europe/Paris"))
    assert article.published.tzinfo == ZoneInfo("Europe/Paris")
    article, _ = parse(article_text(publishedDateTime="2024-05-01"))
    assert article.published == datetime(2024, 5, 1, tzinfo=UTC)


def test_odd_but_valid_values_are_normalised():
    article, problems = parse(article_text(
        quality="57", heat=250, topics=" AI ",
        images=[{"url": "https://e.com/a.jpg", "width": "-5", "height": "abc"}],
    ))
    assert article.quality == 57 and article.heat == 100
    assert article.topics == ("AI",)
    assert article.images[0].width is None and article.images[0].height is None
    article, problems = parse(article_text(quality="high"))
    assert article.quality is None and problems[0].warning and "'quality'" in problems[0].message


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "vbscript:x", "data:text/html,x",
    "//evil.example/x", "java\tscript:x", "https://exa mple.com/", "https:\\\\evil.com", "/relative", "ftp://e.com/",
    "https://", "http://[::1", "https://e.com/\x00",
])
def test_unsafe_urls_are_refused(url):
    assert safe_url(url) is None


def test_safe_urls_are_kept():
    assert safe_url(" https://e.com/a?b=1&c=2 ") == "https://e.com/a?b=1&c=2"
    assert safe_url("HTTP://E.COM/") == "HTTP://E.COM/"


def test_refused_image_and_related_urls_are_warnings_and_left_out():
    article, problems = parse(article_text(
        images=[{"url": "javascript:alert(1)"}, {"url": "https://e.com/ok.jpg"}],
        related=[{"title": "R", "webUrl": "data:text/html,x"}],
    ))
    assert [i.url for i in article.images] == ["https://e.com/ok.jpg"]
    assert article.related[0].web_url is None
    assert all(p.warning for p in problems) and len(problems) == 2
    assert problems[0].line == 7  # the images key line in article_text's layout


def test_control_characters_are_removed_from_text():
    article, _ = parse(article_text(title="Bad\x00 \x1btitle\x7f", excerpt="line\x0bbreak"))
    assert article.title == "Bad title" and article.excerpt == "linebreak"


def test_markdown_body_is_rendered_and_sanitized():
    html = render_body(
        "Hello **world** [ok](https://e.com) [bad](javascript:alert(1))\n\n"
        "<script>alert(1)</script><img src=x onerror=alert(1)><iframe src='https://e.com'></iframe>"
        "<p style='color:red' onclick='x()'>styled</p>"
    )
    assert "<strong>world</strong>" in html and 'href="https://e.com"' in html
    for bad in ("<script", "onerror", "<iframe", "javascript:", "style=", "onclick"):
        assert bad not in html


def test_a_build_imports_markdown_only_for_a_body_and_never_what_it_does_not_use(tmp_path: Path):
    """Every build pays its imports: markdown (~9 ms) waits for the first article with a body (most
    have none); urllib, http.client and ssl (~9 ms) are for the `images` command alone, and
    asyncio (~11 ms, pagefind.service) for no command."""
    write_article(tmp_path / "content", "a.md", title="No body")
    late = ("markdown", "urllib.request", "http.client", "ssl", "asyncio")
    script = (f"import sys; from digest.cli import main; main(sys.argv[1:])\n"
              f"print(sorted(m for m in {late!r} if m in sys.modules))")
    def build() -> str:
        result = subprocess.run([sys.executable, "-c", script, "build", "--content", "content", "--output", "_site"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[-1]
    assert build() == "[]"
    write_article(tmp_path / "content", "b.md", "A *body*.", title="Body", webUrl="https://example.com/b")
    assert build() == "['markdown']"


def test_drafts_are_dropped_unless_asked(tmp_path: Path):
    write_article(tmp_path, "a.md", webUrl="https://e.com/a", published=False)
    write_article(tmp_path, "b.md", webUrl="https://e.com/b")
    assert [a.web_url for a in load_articles(tmp_path, UTC).articles] == ["https://e.com/b"]
    assert len(load_articles(tmp_path, UTC, drafts=True).articles) == 2


def test_loader_finds_md_markdown_txt_recursively_and_skips_others(tmp_path: Path):
    for i, name in enumerate(["a.md", "sub/b.markdown", "sub/deeper/c.txt", "d.html", ".hidden/e.md"]):
        write_article(tmp_path, name, webUrl=f"https://e.com/{i}")
    sources = sorted(a.source for a in load_articles(tmp_path, UTC).articles)
    assert sources == ["a.md", "sub/b.markdown", "sub/deeper/c.txt"]


def test_links_out_of_the_content_folder_and_large_files_are_refused(tmp_path: Path):
    content = tmp_path / "content"
    outside = write_article(tmp_path, "outside.md", webUrl="https://e.com/out")
    content.mkdir()
    (content / "link.md").symlink_to(outside)
    write_article(content, "big.md", body="x" * 5000, webUrl="https://e.com/big")
    result = load_articles(content, UTC, max_file_size=2000)
    assert result.articles == ()
    messages = sorted(str(p) for p in result.problems)
    assert messages[0].startswith("big.md:1: file is larger")
    assert messages[1].startswith("link.md:1: link leads outside")


def test_parallel_parsing_gives_the_same_articles_and_problems_in_the_same_order(tmp_path: Path, monkeypatch):
    write_corpus(tmp_path / "generated", content.PARALLEL_MIN)
    hostile = sorted((ROOT / "tests" / "hostile" / "content").iterdir())
    (tmp_path / "hostile").mkdir()
    for path in hostile:
        (tmp_path / "hostile" / path.name).write_bytes(path.read_bytes())
    write_article(tmp_path, "big.md", body="x" * 5000, webUrl="https://e.com/big")
    forks = []
    fork_map = content.fork_map
    monkeypatch.setattr(content, "fork_map", lambda *args: forks.append(args[2]) or fork_map(*args))

    def load(jobs: int):
        cache = BuildCache(None, "key")
        return load_articles(tmp_path, UTC, max_file_size=4000, parse=cache.parser(UTC, jobs)), cache

    (serial, _), (parallel, cache), (three, _) = load(1), load(2), load(3)
    assert forks == [2, 3]
    assert repr(parallel) == repr(serial) and repr(three) == repr(serial)
    assert len(serial.articles) > content.PARALLEL_MIN and len(serial.problems) > 15
    assert len(cache.reparsed) == len(cache.parsed) == content.PARALLEL_MIN + len(hostile)  # every readable file, once


def test_articles_share_each_provider_whether_parsed_here_or_in_workers(tmp_path: Path):
    """One Provider object per name and domain, so the build cache pickles and loads each once per shard."""
    write_corpus(tmp_path, content.PARALLEL_MIN)
    for jobs in (1, 2):
        articles = load_articles(tmp_path, UTC, parse=BuildCache(None, "key").parser(UTC, jobs)).articles
        providers = [article.provider for article in articles]
        providers += [story.provider for article in articles for story in article.related if story.provider]
        assert len(providers) > 2 * len(articles) > 2 * len(set(providers))
        assert len({id(provider) for provider in providers}) == len(set(providers))


def test_listing_the_content_leaves_no_reference_cycle(tmp_path: Path):
    """The listing of 10,000 files must be freed when the build is done with it, not whenever the
    cyclic collector next runs a full pass (a long-running preview kept one per build)."""
    write_corpus(tmp_path / "content", 30)
    gc.collect()
    gc.disable()
    try:
        listing = content.list_articles(tmp_path / "content")
        assert len(listing.files) == 30
        del listing
        assert gc.collect() == 0  # nothing that only the collector could free
    finally:
        gc.enable()
