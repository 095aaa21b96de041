"""Related-story matching across builds: reusing the last build's answers gives exactly a full computation."""

from __future__ import annotations

import marshal
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest import cache as cache_module
from digest import site as site_module
from digest.cache import BuildCache
from digest.config import Config
from digest.model import Article, Provider, Story
from digest.similar import Entry, Memo, SimilarityIndex, nearest_all
from digest.pipeline import BuildOptions, build
from digest.site import Memos, build_site
from tests.conftest import SYNTHETIC_COUNT
from digest.workers import Forked
from tests.helpers import tree_bytes
from tests.test_site import T0, art

WORDS = ["drone", "court", "chip", "city", "vote", "robot"]  # few words: lists overlap, rarity ties
TOPICS = ["AI", "Law", "Chips"]

# ---- nearest_all on entries: every part of the rule, with small spans so windows are tight

word_sets = st.frozensets(st.sampled_from(WORDS), max_size=5)
topic_sets = st.frozensets(st.sampled_from(TOPICS), max_size=2)
times = st.integers(0, 8).map(float)  # equal times: the key breaks the tie


@st.composite
def corpus(draw) -> dict[str, tuple[Entry, bool, int, frozenset[str]]]:
    """key -> (entry, indexed, count, exclude)"""
    keys = [f"k{n:02d}" for n in range(draw(st.integers(1, 18)))]
    return {key: (Entry(key, draw(word_sets), draw(topic_sets), draw(times)), draw(st.booleans()),
                  draw(st.integers(0, 4)), draw(st.frozensets(st.sampled_from(keys), max_size=2)))
            for key in keys}


def _edit(rows: dict, key: str, how: str, data) -> dict:
    rows = dict(rows)
    entry, indexed, count, exclude = rows[key]
    if how == "delete":
        del rows[key]
    elif how == "add":
        rows[key + "new"] = (Entry(key + "new", data.draw(word_sets), data.draw(topic_sets), data.draw(times)),
                            data.draw(st.booleans()), 3, frozenset())
    elif how == "words":
        rows[key] = (replace(entry, tokens=data.draw(word_sets)), indexed, count, exclude)
    elif how == "topics":
        rows[key] = (replace(entry, topics=data.draw(topic_sets)), indexed, count, exclude)
    elif how == "time":
        rows[key] = (replace(entry, timestamp=data.draw(times)), indexed, count, exclude)
    elif how == "indexed":
        rows[key] = (entry, not indexed, count, exclude)
    else:  # the sidebar's own stories changed: another count and exclude
        rows[key] = (entry, indexed, data.draw(st.integers(0, 4)), data.draw(st.frozensets(st.sampled_from(sorted(rows)))))
    return rows


def _answers(rows: dict, previous: Memo | None, span: int) -> tuple[dict, Memo]:
    return nearest_all({key: row[0] for key, row in rows.items()}, [key for key, row in rows.items() if row[1]],
                       {key: (row[2], row[3]) for key, row in rows.items()}, previous, span)


@settings(max_examples=400, deadline=None)
@given(corpus(), st.integers(0, 3), st.data())
def test_reused_answers_equal_a_full_computation(rows, span, data):
    _, memo = _answers(rows, None, span)
    for _ in range(data.draw(st.integers(1, 3))):  # a build after one edit or a few
        if rows:
            key = data.draw(st.sampled_from(sorted(rows)))
            how = data.draw(st.sampled_from(["delete", "add", "words", "topics", "time", "indexed", "asked"]))
            rows = _edit(rows, key, how, data)
    span = data.draw(st.sampled_from([span, span, span, (span + 1) % 4]))  # another span: nothing reused
    reused, reused_memo = _answers(rows, memo, span)
    full, full_memo = _answers(rows, None, span)
    assert reused == full
    assert reused_memo == full_memo  # and the next build reuses from an exact memo


def _count_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys nearest() is asked about from now on, in a list that fills as it is."""
    asked: list[str] = []
    original = SimilarityIndex.nearest
    monkeypatch.setattr(SimilarityIndex, "nearest",
                        lambda self, entry, *rest: asked.append(entry.key) or original(self, entry, *rest))
    return asked


def test_only_the_answers_an_edit_can_affect_are_computed_again(monkeypatch: pytest.MonkeyPatch):
    """A retitled article far (in time) from most of a topic: the others' answers are reused."""
    rows = {f"k{n:03d}": (Entry(f"k{n:03d}", frozenset({f"word{n}", "budget"}), frozenset({"Politics"}), n * 3600.0),
                          True, 5, frozenset({f"k{n:03d}"})) for n in range(200)}
    _, memo = _answers(rows, None, 3)
    edited = rows["k100"]
    rows["k100"] = (replace(edited[0], tokens=frozenset({"word100", "budget", "vote"})),) + edited[1:]
    full, _ = _answers(rows, None, 3)
    asked = _count_asked(monkeypatch)
    assert _answers(rows, memo, 3)[0] == full
    # its own, and the neighbours whose topic-list window (3 on each side) holds it
    assert sorted(set(asked)) == [f"k{n:03d}" for n in range(97, 104)]


def test_a_memo_that_is_not_one_is_refused():
    _, memo = _answers({"a": (Entry("a", frozenset({"x"}), frozenset(), 0.0), True, 1, frozenset())}, None, 3)
    assert Memo.from_plain(marshal.loads(marshal.dumps(memo.to_plain()))) == memo
    for damaged in (None, (), ({},), ({}, {}), (3, [], {}), ("3", {}, {}), (3, {}, {}, {}), "memo"):
        assert Memo.from_plain(damaged) is None


def _saved_memo(tmp_path: Path) -> tuple[Memo, Path]:
    _, memo = _answers({"a": (Entry("a", frozenset({"x"}), frozenset({"AI"}), 0.0), True, 1, frozenset()),
                        "b": (Entry("b", frozenset({"x"}), frozenset(), 60.0), True, 1, frozenset())}, None, 3)
    cache = BuildCache.open(tmp_path, tmp_path / "content", tmp_path / "site", "UTC")
    cache.memos = Memos(related=memo)
    cache.save()
    [path] = tmp_path.glob("build-*/related")
    return memo, path


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "emptied", "other version", "other time zone"])
def test_a_damaged_memo_is_ignored(tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch):
    memo, path = _saved_memo(tmp_path)
    assert BuildCache.open(tmp_path, tmp_path / "content", tmp_path / "site", "UTC").memos.related == memo
    data = bytearray(path.read_bytes())
    zone = "UTC"
    if damage == "truncated":
        path.write_bytes(data[: len(data) - 5])
    elif damage == "one byte changed":
        data[-3] ^= 1
        path.write_bytes(bytes(data))
    elif damage == "emptied":
        path.write_bytes(b"")
    elif damage == "other version":
        monkeypatch.setattr(cache_module, "GENERATOR", "another generator")
    else:
        zone = "Europe/Berlin"
    assert BuildCache.open(tmp_path, tmp_path / "content", tmp_path / "site", zone).memos.related is None


def test_an_edit_build_asks_only_for_the_sidebars_it_can_change(synthetic_project: Path, monkeypatch: pytest.MonkeyPatch):
    """The pipeline hands the cached memo to build_site: an edit build matches a few articles, not all."""
    options = BuildOptions(content=synthetic_project / "content", output=synthetic_project / "_site",
                           cache_dir=synthetic_project / ".cache")
    build(options)
    edited = synthetic_project / "content" / "000" / "000100.md"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(re.sub(r'^title: ".*"$', 'title: "Harbour bridge reopens (synthetic)"', text, count=1, flags=re.M),
                      encoding="utf-8")
    asked = _count_asked(monkeypatch)
    build(options)
    assert 0 < len(asked) < SYNTHETIC_COUNT // 4
    asked.clear()
    build(replace(options, output=synthetic_project / "clean", cache_dir=None))  # no cache: every article
    assert len(asked) == SYNTHETIC_COUNT
    assert tree_bytes(synthetic_project / "_site") == tree_bytes(synthetic_project / "clean")


# ---- build_site: the sidebars and story clusters of an edited corpus built with the last build's memos

titles = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
topic_lists = st.lists(st.sampled_from(TOPICS), max_size=2).map(tuple)
hours = st.integers(0, 6) | st.integers(46, 50)  # close together, and about the 48 hours of a story cluster apart
providers = st.sampled_from([Provider("One", "one.com"), Provider("Two", "two.com"), Provider("Three", "three.com")])
heats = st.sampled_from([None, 20, 90])


@st.composite
def articles(draw) -> list[Article]:
    count = draw(st.integers(1, 12))
    found = []
    for n in range(count):
        related = tuple(Story(f"Own {m}", f"https://e.com/{m}") for m in draw(st.lists(st.integers(0, count), max_size=2)))
        found.append(art(n, title=draw(titles), topics=draw(topic_lists), published=T0 - timedelta(hours=draw(hours)),
                         provider=draw(providers), heat=draw(heats), quality=draw(st.sampled_from([None, 10, 50])),
                         related=related))
    return found


def _article_edit(found: list[Article], data) -> list[Article]:
    found = list(found)
    place = data.draw(st.integers(0, len(found) - 1))
    article = found[place]
    how = data.draw(st.sampled_from(["title", "topics", "time", "provider", "heat", "delete", "add", "quality"]))
    if how == "title":
        found[place] = replace(article, title=data.draw(titles))
    elif how == "topics":
        found[place] = replace(article, topics=data.draw(topic_lists))
    elif how == "time":  # the newest article may move, and every score with it
        found[place] = replace(article, published=T0 - timedelta(hours=data.draw(hours)))
    elif how == "provider":
        found[place] = replace(article, provider=data.draw(providers))
    elif how == "heat":  # a score only: no similar pair changes, the clusters may
        found[place] = replace(article, heat=data.draw(heats))
    elif how == "delete":
        del found[place]
    elif how == "add":
        found.append(art(100 + len(found), title=data.draw(titles), topics=data.draw(topic_lists),
                         published=T0 - timedelta(hours=data.draw(hours)), provider=data.draw(providers)))
    else:  # below min_quality: unlisted, so out of the index and the clusters, but still asked about
        found[place] = replace(article, quality=data.draw(st.sampled_from([None, 10, 50])))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(articles(), st.data())
def test_an_edited_corpus_gets_the_site_model_of_a_full_build(found, data):
    """The memos of build_site: the related-story matching, story clustering's similar pairs and the titles' facts."""
    config = Config(min_quality=30, related_count=3)
    before = build_site(tuple(found), config)
    for _ in range(data.draw(st.integers(1, 2))):
        if found:
            found = _article_edit(found, data)
    incremental = build_site(tuple(found), config, previous=before.memos)
    full = build_site(tuple(found), config)
    assert incremental.posts == full.posts
    assert incremental.related == full.related
    assert incremental.top == full.top
    assert incremental.topics == full.topics
    assert incremental.memos == full.memos


def test_a_first_build_with_a_core_to_spare_matches_in_a_child_and_gets_the_same_site(monkeypatch: pytest.MonkeyPatch):
    """With no previous answers and ``parallel``, build_site matches related stories in a forked child."""
    forked = []

    class Counted(Forked):
        def __init__(self, function) -> None:
            forked.append(function)
            super().__init__(function)

    monkeypatch.setattr(site_module, "Forked", Counted)
    monkeypatch.setattr(site_module, "PARALLEL_RELATED_MIN", 10)
    found = tuple(art(n, title=" ".join(WORDS[(n + k) % len(WORDS)] for k in range(3)), topics=(TOPICS[n % 3],),
                      published=T0 - timedelta(hours=n)) for n in range(30))
    config = Config(related_count=3)
    alone = build_site(found, config)
    assert any(alone.related.values())
    both = build_site(found, config, parallel=True)
    assert len(forked) == 1
    assert (both.related, both.memos, both.topics, both.top) == (alone.related, alone.memos, alone.topics, alone.top)
    build_site(found, config, previous=alone.memos, parallel=True)
    assert len(forked) == 1  # with the last build's answers to reuse, matching is cheap: no fork
