"""Story clusters: near-identical titles, close in time, from different providers, as one card."""

from __future__ import annotations

import itertools
import random
import re
from datetime import timedelta

from digest.clusters import Entry, candidate_pairs, find_clusters, similar
from digest.config import Config
from digest.model import Provider, Story
from digest.site import build_site
from digest import tokens
from digest.tokens import jaccard, title_tokens
from tests.helpers import write_article
from tests.test_site import T0, art

HOUR = 3600.0
WINDOW = 48 * HOUR


def entry(key: str, title: str, hours: float = 0.0, provider: str = "", priority: float = 0.0) -> Entry:
    return Entry(key, title_tokens(title), hours * HOUR, provider or f"{key}.com", priority)


def keys(clusters: tuple[tuple[str, ...], ...]) -> list[list[str]]:
    return [list(group) for group in clusters]


def test_titles_are_compared_as_normalised_word_sets():
    assert title_tokens("De Blasio calls for ‘clear standards’ for facial recognition tech for NYPD") == {
        "de", "blasio", "call", "clear", "standard", "facial", "recognition", "tech", "nypd"}
    assert title_tokens("Café BANS drones!") == title_tokens("cafe ban drone") == {"cafe", "ban", "drone"}
    assert title_tokens("The press: it is what it is") == {"press"}
    assert title_tokens("…") == frozenset()


def test_title_words_stay_right_when_the_remembered_words_start_again(monkeypatch):
    monkeypatch.setattr(tokens, "_STEMS_MAX", 3)
    monkeypatch.setattr(tokens, "_STEMS", tokens._Stems())
    title = "The mayor bans drones as cities ban drones and the press asks why"
    for _ in range(2):
        assert title_tokens(title) == {"mayor", "ban", "drone", "citie", "press", "ask"}
        assert len(tokens._STEMS) <= 3


def test_the_same_story_from_three_providers_is_one_cluster_led_by_the_best():
    entries = [
        entry("nypost", "De Blasio calls for clear standards for facial recognition tech for NYPD", 0, priority=50),
        entry("wire", "NYC Mayor de Blasio calls for clear standards on facial recognition tech for NYPD", 3, priority=80),
        entry("local", "De Blasio calls for 'clear standards' for NYPD facial recognition tech", 20, priority=10),
        entry("other", "Convenience store boosts security with facial recognition technology", 1, priority=99),
    ]
    assert keys(find_clusters(entries, 0.6, WINDOW)[0]) == [["wire", "nypost", "local"]]


def test_similar_topics_are_not_the_same_story():
    entries = [
        entry("a", "Police in London test facial recognition cameras", 0),
        entry("b", "Facial recognition cameras banned in Boston schools", 1),
        entry("c", "Is facial recognition technology finally being seen for the dystopian threat it is?", 2),
    ]
    assert find_clusters(entries, 0.6, WINDOW)[0] == ()


def test_time_window_and_providers_bound_a_cluster():
    title = "Chipmaker unveils faster AI accelerator for data centres"
    far_apart = [entry("a", title, 0), entry("b", title, 49)]
    assert find_clusters(far_apart, 0.6, WINDOW)[0] == ()
    assert keys(find_clusters(far_apart, 0.6, 50 * HOUR)[0]) == [["a", "b"]]
    same_provider = [entry("a", title, 0, "x.com"), entry("b", title, 1, "x.com")]
    assert find_clusters(same_provider, 0.6, WINDOW)[0] == ()


def test_the_index_pairs_up_to_the_window_edge_the_rule_allows():
    """The index and the rule measure the time apart the same way: start + window rounds below
    this end, yet the difference is within the window."""
    start, end, window = 10.836671866779913, 62.67191735516253, 51.83524548838261
    assert end > start + window and abs(end - start) <= window
    pair = [Entry("a", frozenset({"x"}), start, "one.com", 1.0), Entry("b", frozenset({"x"}), end, "two.com", 0.0)]
    assert similar(*pair, 0.6, window)
    assert candidate_pairs(pair, 0.6, window) == {(0, 1)}


def test_borderline_titles_follow_the_threshold_exactly():
    # 3 shared words of 5 in all: Jaccard 0.6 exactly; then 3 of 6 (0.5).
    at = [entry("a", "alpha beta gamma delta"), entry("b", "alpha beta gamma epsilon")]
    assert jaccard(at[0].tokens, at[1].tokens) == 0.6
    assert keys(find_clusters(at, 0.6, WINDOW)[0]) == [["a", "b"]]
    below = [entry("a", "alpha beta gamma delta"), entry("b", "alpha beta gamma epsilon zeta")]
    assert find_clusters(below, 0.6, WINDOW)[0] == ()
    assert keys(find_clusters(below, 0.5, WINDOW)[0]) == [["a", "b"]]
    # One-word titles cluster only when identical.
    assert keys(find_clusters([entry("a", "Elections!"), entry("b", "elections")], 0.6, WINDOW)[0]) == [["a", "b"]]
    assert find_clusters([entry("a", "Elections"), entry("b", "Election results")], 0.6, WINDOW)[0] == ()


def test_clusters_are_stars_around_the_lead_not_chains():
    # a~b and b~c, but a and c share too little: the lead a takes b; c stays alone.
    entries = [
        entry("a", "one two three four five", priority=3),
        entry("b", "one two three four six", priority=2),
        entry("c", "one two three six seven", priority=1),
    ]
    assert keys(find_clusters(entries, 0.6, WINDOW)[0]) == [["a", "b"]]
    # A worse article never leads a better one that it resembles.
    entries = [entry("a", "one two three four five", priority=1), entry("b", "one two three four six", priority=2)]
    assert keys(find_clusters(entries, 0.6, WINDOW)[0]) == [["b", "a"]]


def _random_entries(rng: random.Random, count: int) -> list[Entry]:
    vocabulary = [f"w{n}" for n in range(12)]
    entries = []
    for n in range(count):
        size = rng.randint(1, 7)
        tokens = frozenset(rng.sample(vocabulary, size))
        entries.append(Entry(f"k{n:03d}", tokens, rng.uniform(0, 96) * HOUR, f"p{rng.randrange(4)}", float(rng.randrange(5))))
    return entries


def test_the_index_finds_every_similar_pair_an_all_pairs_scan_finds():
    rng = random.Random(7)
    for threshold in (0.3, 0.5, 0.6, 0.75, 1.0):
        entries = _random_entries(rng, 150)
        brute = {(i, j) for i, j in itertools.combinations(range(len(entries)), 2)
                 if similar(entries[i], entries[j], threshold, WINDOW)}
        assert brute, "the test corpus must contain similar pairs"
        assert brute <= candidate_pairs(entries, threshold, WINDOW)


def test_clusters_do_not_depend_on_input_order():
    entries = _random_entries(random.Random(3), 120)
    expected = find_clusters(entries, 0.6, WINDOW)[0]
    assert expected
    for seed in range(5):
        shuffled = entries[:]
        random.Random(seed).shuffle(shuffled)
        assert find_clusters(shuffled, 0.6, WINDOW)[0] == expected
    for group in expected:
        providers = [e.provider for e in entries if e.key in group]
        assert len(set(providers)) == len(providers)


def test_site_folds_a_cluster_into_one_card_on_top_stories_and_topic_lists():
    lead = art(1, title="Robot lawyer startup raises $20m in seed funding", heat=90, topics=("AI", "Startups"),
               provider=Provider("One", "one.com"))
    copy = art(2, title="Robot lawyer startup raises $20M seed funding", heat=30, topics=("AI",),
               provider=Provider("Two", "two.com"))
    other = art(3, title="Chip shortage eases for carmakers", heat=50, provider=Provider("One", "one.com"))
    site = build_site((copy, other, lead), Config())
    assert [(c.lead.article.source, [m.article.source for m in c.more]) for c in site.top] == [
        ("1.md", ["2.md"]), ("3.md", [])]
    ai = next(t for t in site.topics if t.ref.name == "AI")
    assert [(c.lead.article.source, [m.article.source for m in c.more]) for c in ai.cards] == [
        ("1.md", ["2.md"]), ("3.md", [])]
    startups = next(t for t in site.topics if t.ref.name == "Startups")
    assert [(c.lead.article.source, c.more) for c in startups.cards] == [("1.md", ())]
    # Every article keeps its own page and its place in the topic's story count.
    assert len(site.posts) == 3 and len(ai.posts) == 3


def test_related_stories_in_content_do_not_make_a_cluster():
    a = art(1, title="Mayor calls for facial recognition rules", provider=Provider("One", "one.com"),
            related=(Story("Opinion: the dystopian threat", "https://e.com/2"),))
    b = art(2, title="Opinion: the dystopian threat", provider=Provider("Two", "two.com"),
            published=T0 - timedelta(hours=2))
    site = build_site((a, b), Config())
    assert all(not card.more for card in site.top)


def test_cluster_card_on_home_and_topic_pages_links_each_other_source(site_builder, tmp_path):
    content = tmp_path / "content"
    write_article(content, "a.md", title="Harbour bridge closes after crack found", webUrl="https://one.example/a",
                  provider={"name": "One Daily", "domain": "one.example"}, heat=90, topics=["Transport"])
    write_article(content, "b.md", title="Crack found: harbour bridge closes", webUrl="https://two.example/b",
                  provider={"name": "Two Times", "domain": "two.example"}, heat=20, topics=["Transport"],
                  publishedDateTime="2024-05-01T13:00:00Z")
    write_article(content, "c.md", title="Ferry fares rise", webUrl="https://one.example/c",
                  provider={"name": "One Daily", "domain": "one.example"}, topics=["Transport"])
    result, output = site_builder(content)
    assert not result.problems
    for page in ("index.html", "topics/transport/index.html"):
        html = (output / page).read_text()
        cards = re.findall(r'<article class="card.*?</article>', html, re.S)
        titles = [re.search(r'class="card__title"><a href="([^"]+)"', card).group(1) for card in cards]
        lead = next(card for card in cards if "Harbour bridge closes after crack found" in card)
        assert "1 more source" in lead and "Two Times" in lead
        other = re.search(r'<div class="card__sources">.*?href="([^"]+)"', lead, re.S).group(1)
        assert (output / other.lstrip("/") / "index.html").is_file()
        assert "crack-found-harbour-bridge-closes" in other
        assert other not in titles  # the second source has no card of its own in the list
