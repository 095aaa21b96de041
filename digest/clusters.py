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
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

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
            latest = times[first] + window
            for second in members[position + 1 :]:
                if times[second] > latest:
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


def find_clusters(entries: Iterable[Entry], threshold: float, window: float) -> tuple[tuple[str, ...], ...]:
    """Clusters of two or more entry keys, each lead first then best first; leads in priority order."""
    ranked = sorted(entries, key=lambda entry: (-entry.priority, entry.key))
    neighbours: dict[int, list[int]] = defaultdict(list)
    for i, j in candidate_pairs(ranked, threshold, window):
        if similar(ranked[i], ranked[j], threshold, window):
            neighbours[i].append(j)
            neighbours[j].append(i)
    placed = [False] * len(ranked)
    clusters = []
    for lead in range(len(ranked)):
        if placed[lead]:
            continue
        placed[lead] = True  # a singleton too: a worse article must never lead a better one
        members, providers = [lead], {ranked[lead].provider}
        for other in sorted(neighbours[lead]):
            if not placed[other] and ranked[other].provider not in providers:
                members.append(other)
                providers.add(ranked[other].provider)
        if len(members) > 1:
            for index in members:
                placed[index] = True
            clusters.append(tuple(ranked[index].key for index in members))
    return tuple(clusters)
