"""Related stories: the article's own first, then the most similar articles of the corpus."""

from __future__ import annotations

import random
from datetime import timedelta

from digest.config import Config
from digest.model import Story
from digest.similar import Entry, SimilarityIndex, similarity
from digest.site import build_site
from digest.tokens import title_tokens
from tests.test_site import T0, art

DAY = 86400.0


def entry(key: str, title: str, topics: tuple[str, ...] = (), days: float = 0.0) -> Entry:
    return Entry(key, title_tokens(title), frozenset(topics), days * DAY)


def test_similarity_weighs_title_words_topics_and_closeness_in_time():
    a = entry("a", "Drone delivery trial starts in Dublin", ("Robotics",))
    assert similarity(a, a) == 1.0
    assert similarity(a, entry("b", "Drone delivery trial ends", ("Robotics",))) > similarity(
        a, entry("c", "Dublin weather", ("Robotics",)))
    same_words_later = entry("d", "Drone delivery trial starts in Dublin", ("Robotics",), days=3)
    assert similarity(a, same_words_later) == 0.5 + 0.3 + 0.2 * 0.5


def test_nearest_ranks_by_similarity_never_returns_itself_or_excluded_keys():
    entries = [
        entry("me", "Drone delivery trial starts in Dublin", ("Robotics",)),
        entry("close", "Dublin drone delivery trial begins", ("Robotics",), days=0.1),
        entry("topic", "Warehouse robots get a union", ("Robotics",), days=0.2),
        entry("word", "Dublin rents rise again", ("Housing",), days=0.3),
        entry("none", "Chip prices fall", ("Chips",), days=0.01),
    ]
    index = SimilarityIndex(entries)
    assert index.nearest(entries[0], 5) == ("close", "topic", "word")  # "none" shares nothing: never a candidate
    assert index.nearest(entries[0], 1) == ("close",)
    assert index.nearest(entries[0], 5, exclude=frozenset({"close"})) == ("topic", "word")
    assert index.nearest(entries[0], 0) == ()


def test_candidates_are_bounded_but_the_nearest_in_time_are_kept():
    entries = [entry(f"k{n:04d}", f"Budget vote number {n}", ("Politics",), days=n / 24) for n in range(2000)]
    index = SimilarityIndex(entries, span=3)
    me = entries[1000]
    found = index.nearest(me, 5)
    assert len(found) == 5 and me.key not in found
    assert set(found) <= {f"k{n:04d}" for n in range(997, 1004)}


def test_sidebar_starts_with_own_related_then_fills_with_similar_articles():
    main = art(1, title="City council bans facial recognition in schools", topics=("AI",), related=(
        Story("Elsewhere", "https://other.com/x"), Story("Ours", "https://e.com/3"), Story("Self", "https://e.com/1"),
    ))
    ours = art(3, title="Teachers union backs camera limits", topics=("Education",))
    similar_story = art(2, title="Second city bans facial recognition in schools", topics=("AI",))
    topic_only = art(4, title="Chip startup raises funds", topics=("AI",))
    unrelated = art(5, title="Marathon results", topics=("Sport",))
    site = build_site((main, ours, similar_story, topic_only, unrelated), Config(related_count=4))
    links = site.related["https://e.com/1"]
    assert [(l.title, l.post.article.web_url if l.post else l.url) for l in links] == [
        ("Elsewhere", "https://other.com/x"),
        ("Teachers union backs camera limits", "https://e.com/3"),
        ("Second city bans facial recognition in schools", "https://e.com/2"),
        ("Chip startup raises funds", "https://e.com/4"),
    ]
    assert len(build_site((main, ours, similar_story), Config(related_count=2)).related["https://e.com/1"]) == 2
    assert build_site((main, similar_story), Config(related_count=0)).related["https://e.com/1"] == ()


def test_sidebar_fill_skips_articles_hidden_by_min_quality():
    main = art(1, title="Robots sort parcels at night", quality=80)
    hidden = art(2, title="Robots sort parcels at night too", quality=5)
    shown = art(3, title="Parcel robots get faster", quality=60)
    links = build_site((main, hidden, shown), Config(min_quality=30)).related["https://e.com/1"]
    assert [l.post.article.source for l in links] == ["3.md"]


def test_sidebar_does_not_depend_on_input_order():
    rng = random.Random(5)
    words = "drone court chip city police vote robot school data law".split()
    articles = [art(n, title=" ".join(rng.sample(words, 4)), topics=tuple(rng.sample(["AI", "Law", "Chips"], 2)),
                    published=T0 - timedelta(hours=rng.randrange(200))) for n in range(60)]
    expected = build_site(tuple(articles), Config()).related
    rng.shuffle(articles)
    assert build_site(tuple(articles), Config()).related == expected


def _reference_nearest(indexed: list[Entry], me: Entry, count: int, span: int = 3) -> tuple[str, ...]:
    """nearest() as the module docstring describes it, by brute force."""
    def members(test) -> list[Entry]:
        return sorted((e for e in indexed if test(e)), key=lambda e: (e.timestamp, e.key))
    word_lists = sorted((len(found), word, found) for word in me.tokens
                        if (found := members(lambda e: word in e.tokens)) and [e.key for e in found] != [me.key])
    lists = [found for _, _, found in word_lists[:4]] + [members(lambda e: topic in e.topics) for topic in me.topics]
    candidates = {}
    for found in lists:
        middle = sum((e.timestamp, e.key) < (me.timestamp, me.key) for e in found)
        candidates.update((e.key, e) for e in found[max(0, middle - span) : middle + span + 1])
    candidates.pop(me.key, None)
    return tuple(e.key for e in sorted(candidates.values(), key=lambda e: (-similarity(me, e), e.key)))[:count]


def test_nearest_is_the_documented_candidate_rule_and_formula():
    rng = random.Random(11)
    words = "drone court chip city police vote robot school data law élan café".split()
    entries = [entry(f"k{n:03d}", " ".join(rng.sample(words, rng.randint(1, 5))),
                     tuple(rng.sample(["AI", "Law", "Chips", "Cloud"], rng.randint(0, 3))), days=rng.uniform(0, 30))
               for n in range(300)]
    indexed = entries[:250]
    index = SimilarityIndex(indexed)
    for me in entries[::3]:  # indexed ones and others
        assert index.nearest(me, 5) == _reference_nearest(indexed, me, 5)
