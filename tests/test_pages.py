"""Plan stage: the URL scheme and pagination."""

from __future__ import annotations

import pickle
from collections import OrderedDict

import pytest

from digest.cache import Fingerprinter
from digest.config import Config
from digest.incremental import fingerprint_page
from digest.pages import Page, plan_articles, plan_pages, url_for
from tests.test_site import art
from digest.model import Story
from digest.site import arrange, build_site, place_stories


def test_urls_follow_the_documented_scheme():
    site = build_site((art(1, title="Hello, World!", topics=("Computer Vision",)),), Config())
    post = site.posts[0]
    assert url_for(post) == "/2024/05/01/hello-world/"
    assert url_for(site.topics[0]) == "/topics/computer-vision/"
    assert url_for(site.topics[0], 3) == "/topics/computer-vision/page/3/"
    assert url_for(site.providers[0]) == "/providers/example-com/"
    assert Page("/", "home.html", dict, ()).output_path == "index.html"
    assert Page("/a/b/", "x", dict, ()).output_path == "a/b/index.html"
    assert Page("/404.html", "x", dict, ()).output_path == "404.html"


def test_every_page_type_is_planned_and_paginated():
    site = build_site(tuple(art(i) for i in range(45)), Config(page_size=20))
    pages = plan_pages(site)
    urls = [p.url for p in pages]
    assert urls[0] == "/" and urls[-1] == "/404.html"
    assert [u for u in urls if u.startswith("/topics/")] == ["/topics/ai/", "/topics/ai/page/2/", "/topics/ai/page/3/"]
    assert len([p for p in pages if p.template == "article.html"]) == 45
    assert len(set(urls)) == len(urls)
    last = next(p for p in pages if p.url == "/topics/ai/page/3/")
    assert len(last.context["cards"]) == 5
    assert last.context["pagination"].previous_url == "/topics/ai/page/2/"
    assert last.context["pagination"].next_url is None


def test_a_page_fingerprint_names_its_recipe_and_refuses_code_it_cannot_name():
    """A recipe is hashed by its module and name (its code is the generator's, which the cache is
    keyed by). A lambda or a local function, as the recipe or among the inputs, has no name pickle
    can look up: fingerprinting fails rather than vouching for a page whose code it did not see."""
    fingerprint = Fingerprinter()
    assert fingerprint_page(fingerprint, b"", b"", Page("/", "home.html", dict, ())) != \
        fingerprint_page(fingerprint, b"", b"", Page("/", "home.html", OrderedDict, ()))

    def local() -> dict:
        return {}

    for page in (Page("/", "home.html", lambda: {}, ()), Page("/", "home.html", local, ()),
                 Page("/", "home.html", dict, (local,))):
        with pytest.raises((pickle.PicklingError, AttributeError)):
            fingerprint_page(fingerprint, b"", b"", page)


def test_the_article_pages_an_edit_build_plans_before_the_lists_are_those_of_the_whole_plan():
    """An edit renders its search shard's article pages from the first half of the model alone (see
    the pipeline): they must be the very pages the whole plan holds, navigation and sidebars included."""
    articles = tuple(art(i, topics=(("AI", "Robots", "Chips")[i % 3], "AI"), title=f"Robot story {i % 7}",
                         related=(Story("Elsewhere", f"https://o.com/{i}"),)) for i in range(60))
    config = Config(topics=("Robots",), page_size=10)
    stories = place_stories(articles, config)
    early = plan_articles(stories)
    site = arrange(stories)
    whole = plan_pages(build_site(articles, config))
    assert early.pages == plan_articles(site).pages and len(early.pages) == 60
    assert plan_pages(site, early) == whole
    assert [page for page in whole if page.template == "article.html"] == list(early.pages)
