"""Top stories: heat, quality and age; min_quality hides articles from lists, not from the site."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from digest.config import Config, ConfigError, config_from_mapping
from digest.model import Provider
from digest.pages import plan_pages
from digest.ranking import story_score
from digest.site import build_site
from tests.test_site import T0, art


def test_score_is_weighted_heat_and_quality_halved_every_half_life():
    config = Config(top_heat_weight=1.0, top_quality_weight=0.5, top_half_life_hours=24)
    assert story_score(art(1, heat=60, quality=40), T0 - timedelta(hours=1), config) == 80
    assert story_score(art(1, heat=60, quality=40), T0 + timedelta(hours=23), config) == 40
    assert story_score(art(1, heat=60, quality=40), T0 + timedelta(hours=47), config) == 20
    assert story_score(art(1), T0, config) == 0  # missing heat and quality count as 0


def test_a_fresh_story_overtakes_an_older_hotter_one_as_it_ages():
    fresh = art(0, heat=50)
    older = art(30, heat=90)  # 30 hours older than the newest article
    assert [c.lead.article.source for c in build_site((fresh, older), Config()).top] == ["0.md", "30.md"]
    slow_decay = Config(top_half_life_hours=240)
    assert [c.lead.article.source for c in build_site((fresh, older), slow_decay).top] == ["30.md", "0.md"]


def test_weights_are_configurable():
    hot = art(1, heat=90, quality=10)
    good = art(2, heat=10, quality=90)
    by_heat = build_site((hot, good), Config(top_heat_weight=1, top_quality_weight=0))
    by_quality = build_site((hot, good), Config(top_heat_weight=0, top_quality_weight=1))
    assert [c.lead.article.source for c in by_heat.top] == ["1.md", "2.md"]
    assert [c.lead.article.source for c in by_quality.top] == ["2.md", "1.md"]


def test_age_is_measured_from_the_newest_article_so_builds_are_reproducible():
    articles = (art(0, heat=20), art(12, heat=60), art(40, heat=100))
    moved = tuple(dataclasses.replace(a, published=a.published - timedelta(days=900)) for a in articles)
    order = [c.lead.article.source for c in build_site(articles, Config()).top]
    assert order == [c.lead.article.source for c in build_site(moved, Config()).top]
    assert order == ["12.md", "40.md", "0.md"]  # scores 42.4, 31.5, 20


def test_min_quality_hides_articles_from_lists_but_keeps_their_pages():
    low = art(1, title="Low quality story", quality=10, heat=100, topics=("Robots",), provider=Provider("Low", "low.com"))
    good = art(2, title="Good story", quality=80, heat=10)
    unrated = art(3, title="Unrated story")
    site = build_site((low, good, unrated), Config(min_quality=30))
    assert [c.lead.article.source for c in site.top] == ["2.md", "3.md"]
    assert [p.article.source for p in site.listed] == ["2.md", "3.md"]
    assert all(low not in (p.article for p in t.posts) for t in site.topics)
    assert all(low not in (p.article for p in p_.posts) for p_ in site.providers)
    urls = [page.url for page in plan_pages(site)]
    assert "/2024/05/01/low-quality-story/" in urls  # its own page, and its (now empty) topic and provider pages
    assert "/topics/robots/" in urls and "/providers/low-com/" in urls
    home = plan_pages(site)[0]
    assert [topic.name for topic, _, _ in home.context["sections"]] == ["AI"]


@pytest.mark.parametrize("data, message", [
    ({"top_half_life_hours": 0}, "top_half_life_hours must be a number > 0"),
    ({"top_heat_weight": -1}, "top_heat_weight must be a number >= 0"),
    ({"top_heat_weight": 0, "top_quality_weight": 0}, "cannot both be 0"),
    ({"cluster_threshold": 1.5}, "cluster_threshold must be a number > 0 and <= 1"),
    ({"cluster_threshold": "high"}, "cluster_threshold must be a number"),
    ({"cluster_window_hours": True}, "cluster_window_hours must be a number"),
    ({"min_quality": -5}, "min_quality must be a whole number >= 0"),
])
def test_ranking_settings_are_validated(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data)


def test_ranking_settings_are_read():
    config = config_from_mapping({"top_half_life_hours": 12, "top_quality_weight": 2, "min_quality": 40,
                                  "cluster_threshold": 0.7, "cluster_window_hours": 24})
    assert (config.top_half_life_hours, config.top_quality_weight, config.min_quality) == (12.0, 2.0, 40)
    assert (config.cluster_threshold, config.cluster_window_hours) == (0.7, 24.0)
