"""More of what I just read: the corpus articles most similar to one article, without an all-pairs pass.

Similarity of a candidate to the article, between 0 and 1:

    0.5 * jaccard(title words) + 0.3 * jaccard(topics) + 0.2 * 0.5 ** (days apart / 3)

Candidates come from an inverted index over title words and topics. Each posting list is
sorted by time and only the ``span`` articles published nearest to the article are taken
from each list, and only the lists of the article's rarest title words (the most telling:
names, places) and of its topics are read, so the work per article is bounded by
(QUERY_WORDS + topics) * 2 * span however large the corpus or a common topic grows. Every
candidate shares a word or a topic with the article; the nearest in time are preferred, as a
reader of today's story wants.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

TITLE_WEIGHT = 0.5
TOPIC_WEIGHT = 0.3
RECENCY_WEIGHT = 0.2
RECENCY_HALF_LIFE = 3 * 24 * 3600.0  # seconds: a story three days apart counts half as recent
SPAN = 3  # candidates taken on each side of the article in every posting list
QUERY_WORDS = 4  # title words whose posting lists are read: the rarest in the corpus


@dataclass(frozen=True, slots=True)
class Entry:
    """What related-story matching knows of an article."""

    key: str  # unique (the article's webUrl)
    tokens: frozenset[str]
    topics: frozenset[str]
    timestamp: float  # seconds since the epoch


def similarity(a: Entry, b: Entry) -> float:
    """How related ``b`` is to ``a`` (symmetric), by the formula in the module docstring."""
    words = len(a.tokens & b.tokens)  # jaccard() inlined: this runs for every candidate of every article
    topics = len(a.topics & b.topics)
    return (
        TITLE_WEIGHT * (words / (len(a.tokens) + len(b.tokens) - words) if words else 0.0)
        + TOPIC_WEIGHT * (topics / (len(a.topics) + len(b.topics) - topics) if topics else 0.0)
        + RECENCY_WEIGHT * 0.5 ** (abs(a.timestamp - b.timestamp) / RECENCY_HALF_LIFE)
    )


class SimilarityIndex:
    """Posting lists by title word and by topic, each sorted by (time, key); immutable once built."""

    def __init__(self, entries: Iterable[Entry], span: int = SPAN) -> None:
        self._span = span
        lists: dict[tuple[str, str], list[tuple[float, str, Entry]]] = defaultdict(list)
        for entry in entries:
            for name in self._names(entry):
                lists[name].append((entry.timestamp, entry.key, entry))
        self._postings = {name: sorted(items, key=lambda item: item[:2]) for name, items in lists.items()}
        self._positions = {name: [item[:2] for item in items] for name, items in self._postings.items()}

    @staticmethod
    def _names(entry: Entry) -> list[tuple[str, str]]:
        return [("word", token) for token in entry.tokens] + [("topic", topic) for topic in entry.topics]

    def _query_names(self, entry: Entry) -> list[tuple[str, str]]:
        """The posting lists to read for ``entry``: its rarest indexed title words, then its topics."""
        words = sorted((len(items), name) for token in entry.tokens
                       if (items := self._postings.get(name := ("word", token)))
                       and (len(items) > 1 or items[0][1] != entry.key))  # a word only this title has finds nothing
        topics = [name for topic in sorted(entry.topics) if (name := ("topic", topic)) in self._postings]
        return [name for _, name in words[:QUERY_WORDS]] + topics

    def _candidates(self, entry: Entry) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for name in self._query_names(entry):
            items = self._postings[name]
            middle = bisect.bisect_left(self._positions[name], (entry.timestamp, entry.key))
            for _, key, other in items[max(0, middle - self._span) : middle + self._span + 1]:
                found[key] = other
        return found

    def nearest(self, entry: Entry, count: int, exclude: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """Keys of up to ``count`` indexed entries most similar to ``entry``, best first, never itself."""
        if count <= 0:
            return ()
        scored = sorted([
            (-similarity(entry, other), key)
            for key, other in self._candidates(entry).items()
            if key != entry.key and key not in exclude
        ])
        return tuple(key for _, key in scored[:count])
