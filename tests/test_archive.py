"""Date archives (day pages, month and year indexes) and the sources index, as a reader meets them."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from digest.archive import build_archive
from digest.config import Config
from digest.model import Provider
from digest.pages import plan_pages, url_for
from digest.site import ProviderRef, build_site, slugify
from tests.helpers import write_article
from tests.test_site import art

UTC = timezone.utc


def _page(pages, url):
    return next(p for p in pages if p.url == url)


def test_days_months_and_years_follow_the_site_time_zone():
    # 23:30 UTC on 31 December is already 1 January in Berlin: a new day, month and year there.
    late = art(1, published=datetime(2023, 12, 31, 23, 30, tzinfo=UTC))
    early = art(2, published=datetime(2023, 12, 31, 10, 0, tzinfo=UTC))
    utc = build_archive(build_site((late, early), Config()))
    assert [d.start for d in utc.days] == [date(2023, 12, 31)]
    berlin = build_site((late, early), Config(timezone="Europe/Berlin"))
    archive = build_archive(berlin)
    assert [(d.start, len(d.posts)) for d in archive.days] == [(date(2024, 1, 1), 1), (date(2023, 12, 31), 1)]
    assert [y.label for y in archive.years] == ["2024", "2023"]
    assert [m.label for m in archive.months] == ["January 2024", "December 2023"]
    late_post = next(p for p in berlin.posts if p.article is late)
    assert url_for(late_post).startswith("/2024/01/01/")


def test_archive_pages_have_indexes_counts_and_previous_next_day():
    articles = [art(1, published=datetime(2024, 5, 3, 9, tzinfo=UTC)),
                art(2, published=datetime(2024, 5, 3, 8, tzinfo=UTC)),
                art(3, published=datetime(2024, 5, 1, 9, tzinfo=UTC)),  # 2 May has no story
                art(4, published=datetime(2024, 4, 30, 9, tzinfo=UTC)),
                art(5, published=datetime(2023, 2, 1, 9, tzinfo=UTC))]
    pages = plan_pages(build_site(tuple(articles), Config()))
    urls = {p.url for p in pages}
    assert {"/2024/", "/2023/", "/2024/05/", "/2024/04/", "/2023/02/",
            "/2024/05/03/", "/2024/05/01/", "/2024/04/30/", "/2023/02/01/"} <= urls
    assert "/2024/05/02/" not in urls
    may1 = _page(pages, "/2024/05/01/").context
    assert [url_for(p) for p in may1["posts"]] == ["/2024/05/01/story-3/"]
    assert url_for(may1["newer"]) == "/2024/05/03/" and url_for(may1["older"]) == "/2024/04/30/"
    assert [url_for(t) for t in may1["trail"]] == ["/2024/", "/2024/05/"]
    oldest = _page(pages, "/2023/02/01/").context
    assert oldest["older"] is None and url_for(oldest["newer"]) == "/2024/04/30/"
    year = _page(pages, "/2024/").context
    assert [(m.label, n) for m, n in year["children"]] == [("May 2024", 3), ("April 2024", 1)]
    assert year["newer"] is None and url_for(year["older"]) == "/2023/"
    month = _page(pages, "/2024/05/").context
    assert [(d.label, n) for d, n in month["children"]] == [("3 May 2024", 2), ("1 May 2024", 1)]
    assert url_for(month["older"]) == "/2024/04/"


def test_archives_list_only_what_min_quality_lets_through():
    """Hidden articles keep their page, and their day keeps its page (their date links there),
    but no archive list or count shows them."""
    articles = [art(1, published=datetime(2024, 5, 3, 9, tzinfo=UTC), quality=80),
                art(2, published=datetime(2024, 5, 3, 8, tzinfo=UTC), quality=10),
                art(3, published=datetime(2024, 5, 2, 9, tzinfo=UTC), quality=10),  # 2 May: hidden only
                art(4, published=datetime(2024, 5, 1, 9, tzinfo=UTC))]  # unrated: always listed
    pages = plan_pages(build_site(tuple(articles), Config(min_quality=30)))
    may3 = _page(pages, "/2024/05/03/").context
    assert [url_for(p) for p in may3["posts"]] == ["/2024/05/03/story-1/"] and may3["story_count"] == 1
    may2 = _page(pages, "/2024/05/02/")
    assert may2.context["posts"] == () and may2.context["story_count"] == 0 and may2.updated is None
    assert "/2024/05/02/story-3/" in {p.url for p in pages}
    month = _page(pages, "/2024/05/").context
    assert [(d.label, n) for d, n in month["children"]] == [("3 May 2024", 1), ("2 May 2024", 0), ("1 May 2024", 1)]
    assert month["story_count"] == 2 and _page(pages, "/2024/").context["story_count"] == 2


def test_busy_day_is_paginated_below_its_folder():
    day = datetime(2024, 5, 1, 23, tzinfo=UTC)
    site = build_site(tuple(art(i, published=day - timedelta(minutes=i)) for i in range(25)), Config(page_size=10))
    urls = [p.url for p in plan_pages(site)]
    assert [u for u in urls if u.startswith("/2024/05/01/page/")] == ["/2024/05/01/page/2/", "/2024/05/01/page/3/"]


def test_no_article_can_shadow_an_archive_or_list_page():
    # Titles that slugify to folder names the archive and pagination use.
    titles = ["Page", "page", "2024", "05", "01", "Index", "feed", "providers", "topics", "static"]
    day = datetime(2024, 5, 1, 12, tzinfo=UTC)
    articles = tuple(art(i, title=t, published=day) for i, t in enumerate(titles))
    site = build_site(articles + tuple(art(100 + i, published=day) for i in range(30)), Config(page_size=5))
    pages = plan_pages(site)
    paths = [p.output_path for p in pages]
    assert len(paths) == len(set(paths))
    assert slugify("Page", "article") == "page-story"
    article_paths = {p.output_path for p in pages if p.template == "article.html"}
    assert all(re.fullmatch(r"\d{4}/\d{2}/\d{2}/[a-z0-9-]+/index\.html", path) for path in article_paths)
    assert not any(path.startswith("2024/05/01/page/") for path in article_paths)


def test_sources_index_counts_every_provider_and_provider_pages_count_topics():
    articles = (art(1, provider=Provider("Zeta", "zeta.org"), topics=("AI", "Chips")),
                art(2, provider=Provider("Zeta", "zeta.org"), topics=("AI",)),
                art(3, provider=Provider("alpha", "alpha.com"), topics=("Chips",)))
    pages = plan_pages(build_site(articles, Config()))
    index = _page(pages, "/providers/").context
    assert [(p.name, n) for p, n in index["providers"]] == [("alpha", 1), ("Zeta", 2)]
    zeta = _page(pages, "/providers/zeta-org/").context
    assert [(t.name, n) for t, n in zeta["topic_counts"]] == [("AI", 2), ("Chips", 1)]


def test_built_pages_link_dates_to_days_and_footer_to_sources_and_archive(site_builder, tmp_path: Path):
    content = tmp_path / "content"
    write_article(content, "a.md", title="Harbour cranes return", webUrl="https://example.com/a",
                  publishedDateTime="2024-05-01T22:30:00Z", provider={"name": "Port <News>", "domain": "port.example"})
    write_article(content, "b.md", title="Second story", webUrl="https://example.com/b",
                  publishedDateTime="2024-04-28T10:00:00Z")
    config = tmp_path / "site.yaml"
    config.write_text("timezone: Asia/Tokyo\n")  # 22:30 UTC on 1 May is 2 May in Tokyo
    result, out = site_builder(content, config=config)
    assert result.errors == ()
    article = (out / "2024/05/02/harbour-cranes-return/index.html").read_text()
    assert '<a class="dateline" href="/2024/05/02/"' in article
    assert '<a href="/providers/">All sources</a>' in article and '<a href="/2024/">Archive</a>' in article
    day = (out / "2024/05/02/index.html").read_text()
    assert "<h1>2 May 2024</h1>" in day and "Harbour cranes return" in day
    assert '<a rel="prev" href="/2024/04/28/">← 28 April 2024</a>' in day
    month = (out / "2024/05/index.html").read_text()
    assert '<a href="/2024/05/02/">2 May 2024</a>' in month
    sources = (out / "providers/index.html").read_text()
    assert "Port &lt;News&gt;" in sources and "<News>" not in sources
    assert re.search(r'href="/providers/port-example/".*?1 story</span>', sources, re.S)


def test_site_yaml_renames_and_recolours_a_provider():
    from digest.config import ConfigError, config_from_mapping
    import pytest

    config = config_from_mapping({"providers": {"www.Zeta.org": {"name": "Zeta Daily", "color": 3}}})
    articles = (art(1, provider=Provider("zeta", "zeta.org")), art(2, provider=Provider("Other", "other.org")))
    site = build_site(articles, config)
    zeta = next(p.ref for p in site.providers if p.ref.domain == "zeta.org")
    assert (zeta.name, zeta.palette, zeta.monogram) == ("Zeta Daily", "3", "Z")
    other = next(p.ref for p in site.providers if p.ref.domain == "other.org")
    assert other.name == "Other" and other.palette == ProviderRef("x", "y", "other.org").palette
    for bad in ({"zeta.org": {"color": 12}}, {"zeta.org": {"colour": 1}}, {"zeta.org": {"name": ""}}, ["zeta.org"]):
        with pytest.raises(ConfigError):
            config_from_mapping({"providers": bad})
