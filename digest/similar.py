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
    """How related ``b`` is to ``a`` (symmetric), by the formula in the module docstring.

    :meth:`SimilarityIndex.nearest` computes the same sum, term for term, in its own loop.
    """
    words = len(a.tokens & b.tokens)  # jaccard() inlined, as in nearest()
    return (
        TITLE_WEIGHT * (words / (len(a.tokens) + len(b.tokens) - words) if words else 0.0)
        + _topic_term(a.topics, b.topics)
        + RECENCY_WEIGHT * 0.5 ** (abs(a.timestamp - b.timestamp) / RECENCY_HALF_LIFE)
    )


def _topic_term(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    return TOPIC_WEIGHT * (shared / (len(a) + len(b) - shared) if shared else 0.0)


class SimilarityIndex:
    """Posting lists by title word and by topic, each in (time, key) order; immutable once built.

    Entries are numbered once in (time, key) order, so a posting list is a list of those numbers
    (ascending), and one bisection of the whole order places an article in every list it reads.
    """

    def __init__(self, entries: Iterable[Entry], span: int = SPAN) -> None:
        self._span = span
        self._entries = sorted(entries, key=lambda entry: (entry.timestamp, entry.key))
        self._order = [(entry.timestamp, entry.key) for entry in self._entries]
        # Columns of what nearest() reads per candidate, by number: list indexing beats attribute access.
        self._keys = [entry.key for entry in self._entries]
        self._tokens = [entry.tokens for entry in self._entries]
        self._sizes = [len(entry.tokens) for entry in self._entries]
        self._times = [entry.timestamp for entry in self._entries]
        # Few distinct topic sets exist (a site has a handful of topics), so the topic term of two
        # articles is looked up by their sets' numbers rather than computed for every candidate.
        self._topic_sets: dict[frozenset[str], int] = {}
        self._topic_set = [self._topic_sets.setdefault(entry.topics, len(self._topic_sets)) for entry in self._entries]
        self._topic_terms: dict[frozenset[str], list[float]] = {}
        words: dict[str, list[int]] = defaultdict(list)
        topics: dict[str, list[int]] = defaultdict(list)
        for number, entry in enumerate(self._entries):  # in order, so every list comes out sorted
            for token in entry.tokens:
                words[token].append(number)
            for topic in entry.topics:
                topics[topic].append(number)
        self._words = dict(words)
        self._topics = dict(topics)

    def _query_lists(self, entry: Entry) -> list[list[int]]:
        """The posting lists to read for ``entry``: its rarest indexed title words (ties by word),
        then its topics."""
        words = sorted((len(items), token) for token in entry.tokens
                       if (items := self._words.get(token))
                       and (len(items) > 1 or self._keys[items[0]] != entry.key))  # only this title has it
        lists = [self._words[token] for _, token in words[:QUERY_WORDS]]
        return lists + [items for topic in entry.topics if (items := self._topics.get(topic))]

    def _candidates(self, entry: Entry) -> set[int]:
        """Numbers of the entries nearest in time to ``entry`` in each list it reads."""
        found: set[int] = set()
        span = self._span
        place = bisect.bisect_left(self._order, (entry.timestamp, entry.key))  # entries before it in time
        for items in self._query_lists(entry):
            middle = bisect.bisect_left(items, place)
            found.update(items[max(0, middle - span) : middle + span + 1])
        return found

    def _topic_row(self, topics: frozenset[str]) -> list[float]:
        """The topic term of ``topics`` against each distinct topic set, by the set's number."""
        row = self._topic_terms.get(topics)
        if row is None:
            row = self._topic_terms[topics] = [_topic_term(topics, other) for other in self._topic_sets]
        return row

    def nearest(self, entry: Entry, count: int, exclude: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """Keys of up to ``count`` indexed entries most similar to ``entry``, best first, never itself.

        The score is :func:`similarity`, computed inline with the candidate's parts read from columns:
        this loop runs for every candidate of every article.
        """
        if count <= 0:
            return ()
        tokens, timestamp, own = entry.tokens, entry.timestamp, entry.key
        size = len(tokens)
        keys, all_tokens, sizes, times, topic_set = self._keys, self._tokens, self._sizes, self._times, self._topic_set
        topic_terms = self._topic_row(entry.topics)
        title_weight, recency_weight, half_life = TITLE_WEIGHT, RECENCY_WEIGHT, RECENCY_HALF_LIFE
        scored = []
        for number in self._candidates(entry):
            key = keys[number]
            if key == own or key in exclude:
                continue
            words = len(tokens & all_tokens[number])
            score = (
                title_weight * (words / (size + sizes[number] - words) if words else 0.0)
                + topic_terms[topic_set[number]]
                + recency_weight * 0.5 ** (abs(timestamp - times[number]) / half_life)
            )
            scored.append((-score, key))
        scored.sort()
        return tuple(key for _, key in scored[:count])
