"""Story clustering across builds: the last build's similar pairs plus the changed entries' give a full computation."""

from __future__ import annotations

import marshal
import re
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest import clusters
from digest.cache import BuildCache
from digest.clusters import Entry, Memo, find_clusters
from digest.config import Config
from digest.model import Provider
from digest.pipeline import BuildOptions, build
from digest.site import build_site
from tests.helpers import tree_bytes
from tests.test_site import art

HOUR = 3600.0
WORDS = ["harbour", "bridge", "closes", "crack", "found", "mayor", "vote"]  # few words: many near-duplicate titles
PROVIDERS = ["one.com", "two.com", "three.com"]
THRESHOLDS = [0.3, 0.5, 0.6, 1.0]
WINDOWS = [0.0, 2 * HOUR, 5 * HOUR, 1e9]

# ---- find_clusters on entries

word_sets = st.frozensets(st.sampled_from(WORDS), max_size=5)
# whole hours, so times meet at a window's edge, and now and then a fraction of a second off one
times = st.integers(0, 12).map(lambda hours: hours * HOUR) | st.floats(0, 12 * HOUR, allow_nan=False)
providers = st.sampled_from(PROVIDERS)
priorities = st.integers(0, 3).map(float)  # ties: the key breaks them


@st.composite
def corpus(draw) -> dict[str, Entry]:
    keys = [f"k{n:02d}" for n in range(draw(st.integers(0, 16)))]
    return {key: Entry(key, draw(word_sets), draw(times), draw(providers), draw(priorities)) for key in keys}


def _edit(entries: dict[str, Entry], data) -> dict[str, Entry]:
    """One edit of a random kind; every entry's priority is drawn again too, as a new newest post makes them."""
    entries = dict(entries)
    how = data.draw(st.sampled_from(["retitle", "retime", "reprovider", "add", "remove"]))
    if how == "add" or not entries:
        key = f"n{len(entries):02d}{data.draw(st.integers(0, 99))}"
        entries[key] = Entry(key, data.draw(word_sets), data.draw(times), data.draw(providers), 0.0)
    else:
        key = data.draw(st.sampled_from(sorted(entries)))
        if how == "remove":
            del entries[key]
        elif how == "retitle":
            entries[key] = replace(entries[key], tokens=data.draw(word_sets))
        elif how == "retime":
            entries[key] = replace(entries[key], timestamp=data.draw(times))
        else:
            entries[key] = replace(entries[key], provider=data.draw(providers))
    return {key: replace(entry, priority=data.draw(priorities)) for key, entry in entries.items()}


@settings(max_examples=500, deadline=None)
@given(corpus(), st.sampled_from(THRESHOLDS), st.sampled_from(WINDOWS), st.sampled_from([0, 10**9]), st.data())
def test_reused_pairs_give_the_clusters_of_a_full_computation(entries, threshold, window, limit, data):
    """Builds 2, 3, ... each with the memo of the one before: the clusters and the memo of a
    build without one. ``limit`` 0 always falls back to the full join; 10**9 never does."""
    _, memo = find_clusters(entries.values(), threshold, window)
    with mock.patch.object(clusters, "INCREMENTAL_LIMIT", limit):
        for _ in range(data.draw(st.integers(1, 3))):  # a build after each
            for _ in range(data.draw(st.integers(1, 3))):  # of one edit or a few
                entries = _edit(entries, data)
            reused = find_clusters(entries.values(), threshold, window, memo)
            full = find_clusters(entries.values(), threshold, window)
            assert reused == full
            memo = reused[1]


@settings(max_examples=300, deadline=None)
@given(corpus(), st.sampled_from(THRESHOLDS), st.sampled_from(WINDOWS), st.data())
def test_a_memo_of_another_threshold_or_window_is_not_used(entries, threshold, window, data):
    """After a config change every pair is found again: a memo kept across it would keep pairs
    the new rule does not make, or miss pairs the old one did not."""
    _, memo = find_clusters(entries.values(), threshold, window)
    if data.draw(st.booleans()):
        entries = _edit(entries, data)
    other_threshold = data.draw(st.sampled_from(THRESHOLDS))
    other_window = data.draw(st.sampled_from(WINDOWS))
    with mock.patch.object(clusters, "INCREMENTAL_LIMIT", 10**9):
        assert (find_clusters(entries.values(), other_threshold, other_window, memo)
                == find_clusters(entries.values(), other_threshold, other_window))


def _count_full_joins(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the corpora the prefix index is built for from now on."""
    joins: list[int] = []
    original = clusters.candidate_pairs
    monkeypatch.setattr(clusters, "candidate_pairs",
                        lambda entries, *rest: joins.append(len(entries)) or original(entries, *rest))
    return joins


def _hourly(count: int) -> dict[str, Entry]:
    """One story an hour, each told by two providers (a pair of clusters) with its own words."""
    return {f"{side}{n:03d}": Entry(f"{side}{n:03d}", frozenset({f"word{n}", f"name{n}", "budget"}), n * HOUR,
                                    f"{side}.com", float(n % 7)) for n in range(count) for side in ("a", "b")}


def test_an_edit_compares_the_changed_entry_with_its_time_window_only(monkeypatch: pytest.MonkeyPatch):
    entries = _hourly(200)
    _, memo = find_clusters(entries.values(), 0.6, 3 * HOUR)
    entries["a100"] = replace(entries["a100"], tokens=frozenset({"word100", "name100", "budget", "vote"}))
    entries = {key: replace(entry, priority=-entry.priority) for key, entry in entries.items()}  # all priorities change
    joins = _count_full_joins(monkeypatch)
    compared: list[tuple[str, str]] = []
    original = clusters.similar
    monkeypatch.setattr(clusters, "similar",
                        lambda a, b, *rest: compared.append((a.key, b.key)) or original(a, b, *rest))
    found, _ = find_clusters(entries.values(), 0.6, 3 * HOUR, memo)
    assert not joins
    # the entries of the hours 97 to 103 (3 on each side), both providers, but not itself
    assert sorted(other for key, other in compared if key == "a100") == sorted(
        f"{side}{n:03d}" for n in range(97, 104) for side in ("a", "b") if (side, n) != ("a", 100))
    assert len(compared) == 13
    assert ("a100", "b100") in found and len(found) == 200  # 3 of 4 words shared: still one story
    assert found == find_clusters(entries.values(), 0.6, 3 * HOUR)[0]


def test_when_most_entries_change_every_pair_is_found_again(monkeypatch: pytest.MonkeyPatch):
    entries = _hourly(50)
    _, memo = find_clusters(entries.values(), 0.6, 48 * HOUR)
    moved = {key: replace(entry, timestamp=entry.timestamp + 1) for key, entry in entries.items()}
    joins = _count_full_joins(monkeypatch)
    assert find_clusters(moved.values(), 0.6, 48 * HOUR, memo) == find_clusters(moved.values(), 0.6, 48 * HOUR)
    assert joins == [100, 100]


def test_a_memo_that_is_not_one_is_refused():
    _, memo = find_clusters([Entry("a", frozenset({"x"}), 0.0, "one.com", 1.0),
                             Entry("b", frozenset({"x"}), 60.0, "two.com", 0.0)], 0.6, HOUR)
    assert memo.neighbours == {"a": ("b",), "b": ("a",)}
    assert Memo.from_plain(marshal.loads(marshal.dumps(memo.to_plain()))) == memo
    for damaged in (None, (), (0.6, 1.0, {}), (0.6, 1.0, {}, []), ("0.6", 1.0, {}, {}), (0.6, 1, {}, {}),
                    (0.6, 1.0, {}, {}, {}), "memo"):
        assert Memo.from_plain(damaged) is None


@pytest.mark.parametrize("name", ["clusters", "titles"])
@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "emptied"])
def test_a_damaged_memo_file_is_ignored_and_the_others_kept(tmp_path: Path, damage: str, name: str):
    site = build_site((art(1, title="Harbour bridge closes", provider=Provider("One", "one.com")),
                       art(2, title="Harbour bridge closes!", provider=Provider("Two", "two.com"))), Config())
    assert site.memos.clusters is not None and site.memos.clusters.neighbours
    cache = BuildCache.open(tmp_path, tmp_path / "content", tmp_path / "site", "UTC")
    cache.memos = site.memos
    cache.save()
    assert BuildCache.open(tmp_path, tmp_path / "content", tmp_path / "site", "UTC").memos == site.memos
    [path] = tmp_path.glob(f"build-*/{name}")
    data = path.read_bytes()
    path.write_bytes(data[:-5] if damage == "truncated" else b"" if damage == "emptied"
                     else data[:-3] + bytes([data[-3] ^ 1]) + data[-2:])
    assert BuildCache.open(tmp_path, tmp_path / "content", tmp_path / "site", "UTC").memos == replace(site.memos, **{name: None})


# ---- the pipeline (build_site with the last build's memos: tests/test_related_memo.py, both memos at once)

def _cluster_cards(site: Path) -> int:
    return sum(path.read_text(encoding="utf-8").count('class="card__sources"') for path in site.rglob("*.html"))


def test_an_edit_build_clusters_without_the_full_join(synthetic_project: Path, monkeypatch: pytest.MonkeyPatch):
    """Retitling an article to the headline another provider published minutes before makes a
    cluster: the edit build finds it from the cached pairs, and its output is a clean build's."""
    options = BuildOptions(content=synthetic_project / "content", output=synthetic_project / "_site",
                           cache_dir=synthetic_project / ".cache")
    build(options)
    cards = _cluster_cards(synthetic_project / "_site")
    files = sorted((synthetic_project / "content").rglob("*.md"))  # about ten minutes apart
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    title = re.search(r'^title: ".*"$', texts[files[40]], re.M).group(0)
    domain = re.search(r"^  domain: .*$", texts[files[40]], re.M).group(0)  # the article's provider comes first
    target = next(path for path in files[41:] if re.search(r"^  domain: .*$", texts[path], re.M).group(0) != domain)
    target.write_text(re.sub(r'^title: ".*"$', lambda _: title, texts[target], count=1, flags=re.M), encoding="utf-8")
    joins = _count_full_joins(monkeypatch)
    build(options)
    assert not joins
    assert _cluster_cards(synthetic_project / "_site") > cards
    build(replace(options, output=synthetic_project / "clean", cache_dir=None))
    assert joins  # a build without the cache finds every pair
    assert tree_bytes(synthetic_project / "_site") == tree_bytes(synthetic_project / "clean")
