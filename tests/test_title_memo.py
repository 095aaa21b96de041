"""The title memo: each title's slug and words carried from one build's site model to the next."""

from __future__ import annotations

import marshal
from dataclasses import replace

from digest.config import Config
from digest.site import Memos, TitleMemo, build_site, slugify
from digest.tokens import title_tokens
from tests.test_site import T0, art


def _site_parts(site):
    return site.posts, site.related, site.top, site.topics, site.memos


def test_an_edited_title_gets_new_facts_and_the_site_of_a_full_build():
    before = (art(1, title="Harbour bridge closes"), art(2, title="Budget vote passes"), art(3, title="Chip plant opens"))
    memos = build_site(before, Config()).memos
    after = (before[0], replace(before[1], title="Budget vote fails"), before[2])
    incremental = build_site(after, Config(), previous=memos)
    assert _site_parts(incremental) == _site_parts(build_site(after, Config()))
    assert [p.slug for p in incremental.posts if p.article.web_url == before[1].web_url] == ["budget-vote-fails"]
    # the memo keeps the titles of this build only: the old title is gone
    assert incremental.memos.titles is not None
    assert sorted(incremental.memos.titles.titles) == ["Budget vote fails", "Chip plant opens", "Harbour bridge closes"]


def test_an_unchanged_title_takes_its_facts_from_the_memo():
    """The memo is read, by title: planted facts show up for that title and no other."""
    articles = (art(1, title="Harbour bridge closes"), art(2, title="Budget vote passes"))
    planted = TitleMemo({"Harbour bridge closes": ("planted-slug", ("planted",)),
                         "A title no article has": ("other-slug", ("other",))})
    site = build_site(articles, Config(), previous=Memos(titles=planted))
    assert {p.article.title: p.slug for p in site.posts} == {"Harbour bridge closes": "planted-slug",
                                                            "Budget vote passes": "budget-vote-passes"}
    assert site.memos.titles == TitleMemo({"Harbour bridge closes": ("planted-slug", ("planted",)),
                                           "Budget vote passes": ("budget-vote-passes", ("budget", "passe", "vote"))})


def test_slug_collisions_are_resolved_after_the_memo():
    """Two titles with one slug, and the same title twice: -2, -3 in URL order, with or without the memo."""
    same_day = [art(n, title=title, published=T0, web_url=f"https://e.com/{n}")
                for n, title in enumerate(["Same title", "Same title!", "Same title", "Other title"])]
    fresh = build_site(tuple(same_day), Config())
    again = build_site(tuple(reversed(same_day)), Config(), previous=fresh.memos)
    assert sorted(p.slug for p in again.posts) == ["other-title", "same-title", "same-title-2", "same-title-3"]
    assert _site_parts(again) == _site_parts(fresh)


def test_the_facts_are_the_slug_and_sorted_words_of_the_title():
    title = "Ünïcode Bridges close, says the City"
    site = build_site((art(1, title=title),), Config())
    assert site.memos.titles == TitleMemo({title: (slugify(title, "article"), tuple(sorted(title_tokens(title))))})


def test_a_memo_that_is_not_one_is_refused():
    memo = build_site((art(1), art(2)), Config()).memos.titles
    assert memo is not None and TitleMemo.from_plain(marshal.loads(marshal.dumps(memo.to_plain()))) == memo
    for damaged in (None, (), [], "memo", ({},)):
        assert TitleMemo.from_plain(damaged) is None
    # a damaged titles file: tests/test_clusters_memo.py, with the other memo files
