"""Story clusters: the same event reported by several providers, found without comparing all pairs.

Two articles report the same story when their titles are near-identical and they were
published close in time: token-set Jaccard similarity of the normalised title words
(:func:`digest.tokens.title_tokens`) at least ``threshold``, at most ``window`` seconds
apart, and from different providers.

Candidates come from *prefix filtering*, the exact set-similarity join of Bayardo et al.:
sort each title's words from rarest to most common in the corpus; two sets with Jaccard
>= t must share a word among the first ``len - ceil(t * len) + 1`` words of each. Only
those prefix words are indexed, so the common words that make all-pairs joins slow ("ai",
"police") rarely enter the index, and within a posting list only articles inside the time
window are paired. No similar pair is missed; no unrelated pair is compared.

Clusters are stars around a lead, never chains: articles are taken best-first by
``priority`` (the top-stories score); each article not yet placed leads a cluster of its
similar, not yet placed neighbours, best first, at most one per provider. Every member is
therefore similar to its lead, and the result depends only on the entries, not their order.

Which pairs are similar depends only on the two entries, so :func:`find_clusters` keeps them
in a :class:`Memo` with each entry's title words, time and provider; the next build takes the
pairs of entries that did not change from it and compares only new and changed entries with the
others in their time window (the proof is in :func:`_pairs_since`). The star assignment, which
depends on every priority, runs in full: it is cheap.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .tokens import jaccard

KEY_WORDS = 3  # index keys are combinations of this many prefix words
_EPSILON = 1e-9  # keeps float rounding (0.7 * 10 = 7.000000000000001) from shortening a prefix


@dataclass(frozen=True, slots=True)
class Entry:
    """What clustering knows of an article: identity, title words, time, provider and rank."""

    key: str  # unique (the article's webUrl); breaks priority ties
    tokens: frozenset[str]
    timestamp: float  # seconds since the epoch
    provider: str  # provider domain: one article per provider in a cluster
    priority: float  # the better article leads


def _keys(tokens: list[str], threshold: float) -> list[tuple[str, ...]]:
    """Index keys of a title whose words are sorted rarest first (see the module docstring)."""
    size = len(tokens)
    needed = math.ceil(threshold * size - _EPSILON)  # words a similar title must share with this one
    keys: list[tuple[str, ...]] = list(itertools.combinations(tokens[: size - needed + KEY_WORDS], KEY_WORDS))
    if size <= (KEY_WORDS - 1) / threshold + _EPSILON:  # short enough to match on fewer shared words
        keys += [(token,) for token in tokens]
    return keys


def candidate_pairs(entries: list[Entry], threshold: float, window: float) -> set[tuple[int, int]]:
    """Index pairs (i < j) sharing a key and within the time window: a superset of the similar pairs."""
    frequency = Counter(token for entry in entries for token in entry.tokens)
    rarity = {token: (count, token) for token, count in frequency.items()}
    times = [entry.timestamp for entry in entries]
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index in sorted(range(len(entries)), key=times.__getitem__):  # so every posting list is in time order
        for key in _keys(sorted(entries[index].tokens, key=rarity.__getitem__), threshold):
            postings[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in postings.values():
        for position in range(len(members) - 1):
            first = members[position]
            start = times[first]
            for second in members[position + 1 :]:
                # the difference, as similar() computes it: start + window can round below a time
                # whose difference from start is still within the window
                if times[second] - start > window:
                    break
                pairs.add((first, second) if first < second else (second, first))
    return pairs


def similar(a: Entry, b: Entry, threshold: float, window: float) -> bool:
    """The clustering rule for one pair."""
    return (
        a.provider != b.provider
        and abs(a.timestamp - b.timestamp) <= window
        and jaccard(a.tokens, b.tokens) >= threshold - _EPSILON
    )


# What the similar pairs of an entry depend on: its title words (sorted), time and provider.
# Sorted tuples of interned strings rather than frozensets, as in similar.Facts: marshal writes
# a word or key once however often it occurs and loads tuples much faster than sets.
Facts = tuple[tuple[str, ...], float, str]
Clusters = tuple[tuple[str, ...], ...]
# Comparisons of changed entries with the others in their time window, per entry, above which
# finding all pairs again is cheaper (the full join costs about 7 µs per entry, a comparison 1 µs)
INCREMENTAL_LIMIT = 8


@dataclass(frozen=True)
class Memo:
    """The similar pairs of one :func:`find_clusters`, with what they were found from: plain
    data, so the build cache saves and loads it with ``marshal``. No priorities: they are
    relative to the newest article and may all change from one build to the next."""

    threshold: float  # the rule the pairs were found with
    window: float
    facts: dict[str, Facts]  # every entry, by key
    neighbours: dict[str, tuple[str, ...]]  # key -> the keys similar to it, sorted; only keys that have one

    def to_plain(self) -> tuple[float, float, dict[str, Facts], dict[str, tuple[str, ...]]]:
        return self.threshold, self.window, self.facts, self.neighbours

    @classmethod
    def from_plain(cls, data: Any) -> Memo | None:
        """The memo :meth:`to_plain` gave, or None for anything else (the cache ignores it)."""
        if not (isinstance(data, tuple) and len(data) == 4 and all(isinstance(value, float) for value in data[:2])
                and isinstance(data[2], dict) and isinstance(data[3], dict)):
            return None
        return cls(*data)


def find_clusters(entries: Iterable[Entry], threshold: float, window: float,
                  previous: Memo | None = None) -> tuple[Clusters, Memo]:
    """Clusters of two or more entry keys, each lead first then best first, leads in priority
    order; and the memo of the similar pairs they were assigned from.

    With the ``previous`` build's memo, found with the same threshold and window, the pairs of
    entries that did not change are taken from it (see :func:`_pairs_since`): the result is the
    same as without it.
    """
    ranked = sorted(entries, key=lambda entry: (-entry.priority, entry.key))
    found = None
    if previous is not None and previous.threshold == threshold and previous.window == window:
        found = _pairs_since(previous, ranked, threshold, window)
    facts, neighbours = found or _all_pairs(ranked, threshold, window)
    return _stars(ranked, neighbours), Memo(threshold, window, facts, neighbours)


def _facts(entry: Entry) -> Facts:
    return tuple(sorted(map(sys.intern, entry.tokens))), entry.timestamp, entry.provider


def _all_pairs(entries: list[Entry], threshold: float,
               window: float) -> tuple[dict[str, Facts], dict[str, tuple[str, ...]]]:
    """Every entry's facts and similar neighbours, from the prefix index."""
    neighbours: dict[str, list[str]] = defaultdict(list)
    for i, j in candidate_pairs(entries, threshold, window):
        if similar(entries[i], entries[j], threshold, window):
            neighbours[entries[i].key].append(entries[j].key)
            neighbours[entries[j].key].append(entries[i].key)
    facts = {sys.intern(entry.key): _facts(entry) for entry in entries}
    return facts, {key: tuple(sorted(others)) for key, others in neighbours.items()}


def _pairs_since(previous: Memo, entries: list[Entry], threshold: float,
                 window: float) -> tuple[dict[str, Facts], dict[str, tuple[str, ...]]] | None:
    """What :func:`_all_pairs` gives for ``entries``, from ``previous`` (found with this threshold
    and window) and the entries that changed since; None when so many changed that finding all
    pairs again is cheaper.

    Why. ``similar(a, b)`` reads only the two entries' words, times and providers (their facts)
    and the threshold and window. An entry is *unchanged* when the previous build had its key
    with equal facts; every other entry is *changed* (new, or with other words, time or
    provider); keys the previous build had and this one has not are *gone*. ``previous`` holds,
    for the previous entries, exactly their similar pairs. Take a pair of this build's entries:

    1. both unchanged: both were in the previous build with the same facts, so the pair is
       similar now exactly when it was then, that is when ``previous.neighbours`` has it. Those
       are kept; a previous neighbour that changed or is gone is dropped (a changed one is found
       again in 2 when it is still similar);
    2. at least one changed, c: a similar pair is at most ``window`` apart, ``abs(t -
       c.timestamp) <= window`` as :func:`similar` computes it. Rounded subtraction is monotone
       (x <= y gives x - c <= y - c), so in time order those entries form one run around c's
       place: the scan from c's place down, and from it up, stops at the first entry outside
       the window on each side and so meets every entry inside it. Each one met is tested with
       :func:`similar` itself; a similar one goes into c's list, and c into its list when it is
       unchanged (a changed one puts c there from its own scan, :func:`similar` being symmetric).

    Every pair falls under 1 or 2 and is taken exactly when it is similar, so the neighbours are
    those of a full computation, sorted the same way; an unchanged entry's facts are kept as they
    were, equal to what :func:`_facts` makes now. The star assignment is then given the same
    entries and neighbours.
    """
    old = previous.facts
    facts: dict[str, Facts] = {}
    changed: list[Entry] = []
    for entry in entries:
        fact = old.get(entry.key)
        if (fact is None or fact[1] != entry.timestamp or fact[2] != entry.provider
                or len(fact[0]) != len(entry.tokens) or not entry.tokens.issuperset(fact[0])):
            fact = _facts(entry)  # (equal sizes and one holding the other: equal word sets)
            changed.append(entry)
        facts[sys.intern(entry.key)] = fact
    fresh = {entry.key for entry in changed}
    neighbours: dict[str, list[str]] = {
        key: [other for other in others if other in facts and other not in fresh]
        for key, others in previous.neighbours.items() if key in facts and key not in fresh}
    if changed:
        order = sorted(entries, key=operator.attrgetter("timestamp"))
        times = [entry.timestamp for entry in order]
        # an estimate of the comparisons to come (the scan below decides which entries are in the window)
        estimate = sum(bisect.bisect_right(times, entry.timestamp + window)
                       - bisect.bisect_left(times, entry.timestamp - window) for entry in changed)
        if estimate > INCREMENTAL_LIMIT * len(entries):
            return None
        for entry in changed:
            timestamp = entry.timestamp
            place = bisect.bisect_left(times, timestamp)
            below, above = itertools.islice(reversed(order), len(order) - place, None), itertools.islice(order, place, None)
            for others in (below, above):
                for other in others:
                    if abs(other.timestamp - timestamp) > window:
                        break
                    if other is not entry and similar(entry, other, threshold, window):
                        neighbours.setdefault(entry.key, []).append(other.key)
                        if other.key not in fresh:  # (a changed one adds this pair from its own scan)
                            neighbours.setdefault(other.key, []).append(entry.key)
    return facts, {key: tuple(sorted(others)) for key, others in neighbours.items() if others}


def _stars(ranked: list[Entry], neighbours: dict[str, tuple[str, ...]]) -> Clusters:
    """The clusters, from the entries best first and each one's similar neighbours (see the module docstring).

    Only entries with a neighbour can be in a cluster, so only they are walked, in rank order.
    """
    rank = {entry.key: index for index, entry in enumerate(ranked) if entry.key in neighbours}
    placed: set[int] = set()
    clusters = []
    for key, lead in rank.items():  # in rank order, as they were added
        if lead in placed:
            continue
        placed.add(lead)  # a singleton too: a worse article must never lead a better one
        members, providers = [lead], {ranked[lead].provider}
        for other in sorted(rank[other_key] for other_key in neighbours[key]):
            if other not in placed and ranked[other].provider not in providers:
                members.append(other)
                providers.add(ranked[other].provider)
        if len(members) > 1:
            placed.update(members)
            clusters.append(tuple(ranked[index].key for index in members))
    return tuple(clusters)
