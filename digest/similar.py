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

:func:`nearest_all` answers every article of a build and keeps a :class:`Memo` of what each
answer was computed from, so the next build asks :meth:`SimilarityIndex.nearest` again only for
the articles an edit can affect (the proof is in :func:`_stale`).
"""

from __future__ import annotations

import bisect
import sys
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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


# What an answer depends on of one entry: its title words and topics (sorted), its time and
# whether it is indexed. Sorted tuples of interned strings rather than frozensets: equal facts
# are equal tuples, and marshal writes a word or key once however often it occurs and loads
# tuples several times faster than sets (7 ms rather than 60 for 10,000 articles).
Facts = tuple[tuple[str, ...], tuple[str, ...], float, bool]
Answer = tuple[int, tuple[str, ...], tuple[str, ...]]  # count, exclude (sorted), what nearest() returned


@dataclass(frozen=True)
class Memo:
    """The answers of one :func:`nearest_all` with what they were computed from: plain tuples,
    so the build cache saves and loads it with ``marshal``."""

    span: int  # of the index the answers came from
    facts: dict[str, Facts]  # every entry asked about or indexed, by key
    answers: dict[str, Answer]  # by the key of the entry asked about

    def to_plain(self) -> tuple[int, dict[str, Facts], dict[str, Answer]]:
        return self.span, self.facts, self.answers

    @classmethod
    def from_plain(cls, data: Any) -> Memo | None:
        """The memo :meth:`to_plain` gave, or None for anything else (the cache ignores it)."""
        if not (isinstance(data, tuple) and len(data) == 3 and isinstance(data[0], int)
                and isinstance(data[1], dict) and isinstance(data[2], dict)):
            return None
        return cls(*data)


def nearest_all(entries: Mapping[str, Entry], indexed: Collection[str], queries: Mapping[str, tuple[int, frozenset[str]]],
                previous: Memo | None = None, span: int = SPAN) -> tuple[dict[str, tuple[str, ...]], Memo]:
    """``nearest(entries[key], count, exclude)`` for each ``key: (count, exclude)`` of ``queries``,
    over the index of the ``indexed`` keys' entries; and the memo of these answers.

    With the ``previous`` build's memo, an answer that cannot have changed (see :func:`_stale`) is
    taken from it instead of being computed again: the result is the same as without it.
    """
    index = SimilarityIndex((entries[key] for key in indexed), span)
    facts = _facts(entries, set(indexed), previous.facts if previous is not None else {})
    asked = _questions(queries, previous.answers if previous is not None else {})
    stale = None if previous is None or previous.span != span else _stale(index, facts, asked, previous)
    answers: dict[str, Answer] = {}
    for key, (count, exclude) in asked.items():
        if previous is not None and stale is not None and key not in stale:
            answers[key] = previous.answers[key]
        else:
            answers[key] = (count, exclude, tuple(map(sys.intern, index.nearest(entries[key], count, queries[key][1]))))
    return {key: answer[2] for key, answer in answers.items()}, Memo(span, facts, answers)


def _facts(entries: Mapping[str, Entry], listed: set[str], previous: dict[str, Facts]) -> dict[str, Facts]:
    """Each entry's :data:`Facts`: the ``previous`` build's tuple where it equals what the entry gives
    now (most of them, on an edit), which costs a third of sorting the words again and makes
    comparing the two a matter of identity."""
    intern = sys.intern
    # (topics need no interning: an index has few, each one string shared by its entries)
    sorted_topics: dict[frozenset[str], tuple[str, ...]] = {}  # few distinct sets: each sorted once
    facts = {}
    for key, entry in entries.items():
        topics = sorted_topics.get(entry.topics)
        if topics is None:
            topics = sorted_topics[entry.topics] = tuple(sorted(entry.topics))
        fact = previous.get(key)
        if (fact is None or fact[2] != entry.timestamp or fact[3] != (key in listed) or fact[1] != topics
                or len(fact[0]) != len(entry.tokens) or not entry.tokens.issuperset(fact[0])):  # (same words)
            fact = (tuple(sorted(map(intern, entry.tokens))), topics, entry.timestamp, key in listed)
        facts[intern(key)] = fact
    return facts


def _questions(queries: Mapping[str, tuple[int, frozenset[str]]],
               previous: dict[str, Answer]) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Each query's count and exclude (sorted), with the ``previous`` build's exclude where equal,
    as :func:`_facts` does."""
    intern = sys.intern
    asked = {}
    for key, (count, exclude) in queries.items():
        answer = previous.get(key)
        if answer is not None and len(answer[1]) == len(exclude) and exclude.issuperset(answer[1]):
            asked[intern(key)] = (count, answer[1])
        else:
            asked[intern(key)] = (count, tuple(sorted(map(intern, exclude))))
    return asked


def _stale(index: SimilarityIndex, facts: dict[str, Facts], asked: dict[str, tuple[int, tuple[str, ...]]],
           previous: Memo) -> set[str]:
    """Keys whose answer must be computed again: every key of ``asked`` not in this set has a
    previous answer, asked with the same count and exclude, equal to what ``index`` gives now.

    Why. ``nearest(Y)`` is a function of Y's entry, count and exclude, whether Y is indexed, and
    the lists Y reads: the word lists of its QUERY_WORDS rarest eligible title words (ranked by
    list length, then word; a word's list is eligible when it holds an entry other than Y, that
    is when it is longer than 1 if Y is indexed, else non-empty) and the lists of its topics.
    From each list it takes a window: the ``span`` members before Y and the ``span + 1`` members
    from Y on, in (time, key) order (entry numbers follow that order, so the bisection by numbers
    counts exactly the list's members before Y); the candidates' scores depend on Y's and their
    own entries only. A key is *changed* when its facts (words, topics, time, indexed) differ
    from the previous build's or it is new or gone; the lists differ from the previous build's
    only through the changed keys' versions in them (the old version of an entry indexed before,
    the new one of an entry indexed now). Take Y unchanged, asked with the same count and
    exclude. Then

    1. a list that holds no changed version, old or new, is the same list of the same entries,
       of the same length;
    2. Y reads the same word lists when its selection from the old lengths equals that from the
       new ones; only words whose length changed ("resized") can make them differ, so only Ys
       with a resized word are compared;
    3. Y's window in a list it reads holds no changed version, neither in the old list nor in
       the new one: then each window holds only unchanged members with no member between them
       and Y, so both are the ``span`` unchanged members nearest before Y and the ``span + 1``
       from Y on (Y itself first when indexed: unchanged, it is in both lists or neither), the
       same entries. A version at place p of a list is in Y's window exactly when Y's place
       (the number of members before Y) is within p - span .. p + span, that is when
       list[p - span - 1] < Y <= list[p + span] (a bound outside the list is no bound). Every
       Y in such a range of an old or new list of any changed version is marked, if it has
       that word or topic (a superset: Y may not read that word's list).

    So with the same lists read, the same windows and the same entries in them, the candidates
    and their scores are the same, and so is the answer. Everything else is in the set.
    """
    old = previous.facts
    changed = {key for key, fact in facts.items() if old.get(key) != fact}
    changed.update(old.keys() - facts.keys())
    stale = {key for key, question in asked.items()
             if key in changed or (answer := previous.answers.get(key)) is None or answer[:2] != question}
    # (kind, name) of a list (0: title word, 1: topic) -> the changed versions in it, old and new
    versions: dict[tuple[int, str], tuple[list[tuple[float, str]], list[tuple[float, str]]]] = {}
    for side, table in enumerate((old, facts)):
        for key in changed:
            fact = table.get(key)
            if fact is None or not fact[3]:  # not in the index on this side: in none of its lists
                continue
            for kind, names in enumerate(fact[:2]):
                for name in names:
                    versions.setdefault((kind, name), ([], []))[side].append((fact[2], key))
    if not versions:
        return stale
    order, span = index._order, index._span
    unindexed = [key for key in asked if not facts[key][3] and key not in stale]
    bounds: dict[tuple[int, str], list[tuple[tuple[float, str] | None, tuple[float, str] | None]]] = {}
    resized: dict[str, int] = {}  # word -> its list's old length, where that differs from the new
    for (kind, name), (was, now) in versions.items():
        items = (index._topics if kind else index._words).get(name, ())
        new = [order[number] for number in items]
        gone = {key for _, key in now}
        previous_list = sorted([member for member in new if member[1] not in gone] + was)
        if kind == 0 and len(previous_list) != len(new):
            resized[name] = len(previous_list)
        marks = bounds[(kind, name)] = []
        for members, moved in ((previous_list, was), (new, now)):
            for version in moved:
                place = bisect.bisect_left(members, version)
                low = members[place - span - 1] if place > span else None
                high = members[place + span] if place + span < len(members) else None
                marks.append((low, high))
                # the indexed Ys of this list in that range (unchanged ones are in both lists)
                start = 0 if low is None else bisect.bisect_right(new, low)
                end = len(new) if high is None else bisect.bisect_right(new, high)
                stale.update(key for _, key in new[start:end])
    for key in unindexed:  # Ys that read lists without being in them
        tokens, topics, timestamp, _ = facts[key]
        me = (timestamp, key)
        if any((low is None or low < me) and (high is None or me <= high)
               for kind, names in enumerate((tokens, topics)) for name in names
               for low, high in bounds.get((kind, name), ())):
            stale.add(key)
    words = index._words
    readers = {key for word in resized for _, key in (order[number] for number in words.get(word, ()))}
    readers.update(key for key in unindexed if not resized.keys().isdisjoint(facts[key][0]))
    for key in readers - stale:
        tokens, _, _, listed = facts[key]
        own = 1 if listed else 0
        now = sorted((length, token) for token in tokens if (length := len(words.get(token, ()))) > own)
        was = sorted((length, token) for token in tokens if (length := resized.get(token, len(words.get(token, ())))) > own)
        if {token for _, token in now[:QUERY_WORDS]} != {token for _, token in was[:QUERY_WORDS]}:
            stale.add(key)
    return stale
