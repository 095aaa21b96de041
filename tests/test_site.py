"""Model stage: topics, providers, slugs, related links, ordering, duplicates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from digest.config import Config
from digest.model import Article, Provider, Story
from digest.site import build_site, slugify

T0 = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def art(n: int, **kw) -> Article:
    fields = dict(
        source=f"{n}.md", title=f"Story {n}", published=T0 - timedelta(hours=n),
        web_url=f"https://e.com/{n}", provider=Provider("Example", "example.com"), topics=("AI",),
    )
    fields.update(kw)
    return Article(**fields)


def test_topics_are_normalised_and_named_canonically():
    site = build_site((art(1, topics=(" ai ",)), art(2, topics=("AI",)), art(3, topics=("Ai",)), art(4, topics=("ai",))), Config())
    assert [(t.ref.name, t.ref.slug, len(t.posts)) for t in site.topics] == [("ai", "ai", 4)]
    site = build_site((art(1, topics=("ai",)), art(2, topics=("ai",))), Config(topics=("AI",)))
    assert site.topics[0].ref.name == "AI"


def test_topic_order_follows_config_then_size():
    articles = (art(1, topics=("Robots",)), art(2, topics=("Robots", "Chips")), art(3, topics=("AI",)))
    site = build_site(articles, Config(topics=("AI",)))
    assert [t.ref.name for t in site.topics] == ["AI", "Robots", "Chips"]


def test_posts_are_newest_first_with_deterministic_ties():
    articles = (art(1, published=T0, web_url="https://e.com/b"), art(2, published=T0, web_url="https://e.com/a"), art(3))
    site = build_site(articles, Config())
    assert [p.article.web_url for p in site.posts] == ["https://e.com/a", "https://e.com/b", "https://e.com/3"]
    assert build_site(tuple(reversed(articles)), Config()).posts == site.posts


def test_slugs_are_safe_and_unique():
    for title in ("../../etc/passwd", "", "...", "a/b\\c", "CON", "é" * 300, "日本語のタイトル", "🚀🚀"):
        slug = slugify(title, "article")
        assert slug and "/" not in slug and "\\" not in slug and not slug.startswith(".")
        assert len(slug) <= 90 and slug.lower() not in {"con", ".", ".."}
    same = tuple(art(i, title="Same title", published=T0, web_url=f"https://e.com/{i}") for i in range(3))
    site = build_site(same, Config())
    assert sorted(p.slug for p in site.posts) == ["same-title", "same-title-2", "same-title-3"]
    assert {p.article.web_url: p.slug for p in build_site(tuple(reversed(same)), Config()).posts} == {
        p.article.web_url: p.slug for p in site.posts
    }


def test_providers_are_keyed_by_domain():
    articles = (art(1, provider=Provider("NY Post", "nypost.com")), art(2, provider=Provider("New York Post", "nypost.com")),
                art(3, provider=Provider("New York Post", "nypost.com")))
    site = build_site(articles, Config())
    assert [(p.ref.name, p.ref.slug, len(p.posts)) for p in site.providers] == [("New York Post", "nypost-com", 3)]


def test_related_links_point_inside_when_we_have_the_story():
    ours = art(2, web_url="https://e.com/ours")
    main = art(1, related=(
        Story("Ours", "https://e.com/ours"), Story("Elsewhere", "https://other.com/x"),
        Story("Again", "https://other.com/x"), Story("Self", "https://e.com/1"),
    ))
    site = build_site((main, ours), Config())
    links = site.related["https://e.com/1"]
    assert [(l.title, l.post is not None, l.url) for l in links] == [
        ("Story 2", True, None), ("Elsewhere", False, "https://other.com/x"),
    ]


def test_duplicate_web_url_keeps_the_best_and_warns():
    site = build_site((art(1, quality=10, web_url="https://e.com/d"), art(2, quality=90, web_url="https://e.com/d")), Config())
    assert [p.article.source for p in site.posts] == ["2.md"]
    assert [str(w) for w in site.warnings] == ["1.md:1: warning: same webUrl as 2.md, which is kept; skipped"]


def test_top_stories_rank_by_heat_among_recent_stories():
    articles = (art(1, heat=10), art(2, heat=90), art(3, heat=50), art(100, heat=100))
    site = build_site(articles, Config(home_top=3))
    assert [c.lead.article.source for c in site.top] == ["2.md", "3.md", "1.md"]
