"""Page fingerprints: by value, never by object identity, and never two values alike."""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from markupsafe import Markup

from digest.cache import BuildCache, Fingerprinter, check_outputs
from digest.pipeline import BuildOptions, build


@dataclass(frozen=True)
class Item:
    name: str
    when: datetime
    tags: tuple[str, ...] = ()


WHEN = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


INLINE = pytest.mark.parametrize("inline", [(), (Item,)], ids=["by digest", "inline"])


@INLINE
def test_equal_values_have_equal_fingerprints_whether_or_not_they_share_objects(inline):
    shared = Item("a", WHEN, ("x",))
    one, other = Fingerprinter(inline), Fingerprinter(inline)
    assert one({"k": (shared, shared)}) == other({"k": (Item("a", WHEN, ("x",)), Item("a", WHEN + timedelta(0), ("x",)))})
    assert one(shared) == one(shared) == other(Item("a", WHEN, ("x",)))


@INLINE
def test_any_difference_changes_the_fingerprint(inline):
    fingerprint = Fingerprinter(inline)
    base = fingerprint(Item("a", WHEN), [1, 2])
    paris = WHEN.astimezone(ZoneInfo("Europe/Paris"))  # the same instant, shown in another zone
    others = [
        fingerprint(Item("b", WHEN), [1, 2]),
        fingerprint(Item("a", WHEN + timedelta(seconds=1)), [1, 2]),
        fingerprint(Item("a", paris), [1, 2]),
        fingerprint(Item("a", WHEN, ("x",)), [1, 2]),
        fingerprint(Item("a", WHEN), [1, 2, 3]),
        fingerprint(Item("a", WHEN), (1, 2)),
        fingerprint(("a", WHEN, ()), [1, 2]),  # the same fields, but not an Item
    ]
    assert len({base, *others}) == len(others) + 1


@INLINE
def test_a_seeded_object_stands_in_by_its_seed(inline):
    item, vouched = Item("a", WHEN), Item("z", WHEN)  # an article is vouched for by its file's hash
    one, other = Fingerprinter(inline), Fingerprinter(inline)
    one.seed(item, b"s" * 16)
    other.seed(vouched, b"s" * 16)
    assert one([item]) == other([vouched]) != Fingerprinter()([item])


def test_a_value_pickle_cannot_handle_is_refused():
    with pytest.raises(TypeError):
        Fingerprinter()((x for x in ()))


def test_stand_ins_and_preloaded_classes_are_told_apart_from_values():
    """Stand-ins and some classes are written as references to the pickler's preloaded memo:
    none of that may make two different values hash alike."""
    seeded, fingerprint = Item("a", WHEN), Fingerprinter()
    fingerprint.seed(seeded, b"s" * 16)
    inline = Fingerprinter(inline=(Item,))
    prints = [
        fingerprint(seeded),
        inline(Item("a", WHEN)), inline(((("tests.test_cache", "Item"), ("a", WHEN, ())),)),  # an inline Item, and its parts
        fingerprint((Fingerprinter, (b"s" * 16,))),  # what a stand-in is a call of, as a plain value
        fingerprint(Fingerprinter), fingerprint(datetime), fingerprint(timezone),
        fingerprint(Markup("<b>x</b>")), fingerprint("<b>x</b>"),  # the same text, escaped or not
    ]
    assert len(set(prints)) == len(prints)
    assert fingerprint(Markup("<b>x</b>")) == Fingerprinter()(Markup("<b>") + Markup("x</b>"))


def test_a_fingerprinter_and_everything_it_hashed_are_freed_as_soon_as_it_is_dropped():
    """Without waiting for the cyclic collector, which a long-running preview may not run for many
    builds: a fingerprinter in a reference cycle kept a whole site model alive (40 MiB a build)."""
    gc.collect()
    gc.disable()
    try:
        fingerprint = Fingerprinter()
        item = Item("a", WHEN, ("x",))
        fingerprint({"k": (item, item)})  # hashed once, then remembered as the stand-in
        gone, hashed = weakref.ref(fingerprint), weakref.ref(item)
        del fingerprint, item
        assert gone() is None and hashed() is None
    finally:
        gc.enable()


def test_the_output_check_finds_every_recorded_file_changed_or_gone_and_counts_only_for_its_table(
        synthetic_project: Path):
    """What a build's helper process checks for BuildCache.current (see check_outputs)."""
    content, output, cache_dir = synthetic_project / "content", synthetic_project / "_site", synthetic_project / ".cache"
    build(BuildOptions(content=content, output=output, templates=synthetic_project / "templates",
                       static=synthetic_project / "static", cache_dir=cache_dir, jobs=1))
    (output / "index.html").write_bytes(b"tampered")
    (output / "providers" / "index.html").unlink()
    check = check_outputs(cache_dir, content, output, "UTC")
    assert check is not None and check.changed == {"index.html", "providers/index.html"}
    cache = BuildCache.open(cache_dir, content, output, "UTC")
    cache.trust(check)
    home, about = cache.outputs["index.html"][0], cache.outputs["search/index.html"][0]
    assert not cache.current("index.html", home, output) and cache.current("search/index.html", about, output)
    other = BuildCache.open(cache_dir, content, output, "UTC")
    other.trust(replace(check, table=check.table + 1, changed=frozenset({"search/index.html"})))  # another table's answer
    assert other.current("search/index.html", about, output)  # ignored: the file is stat'ed
    assert check_outputs(cache_dir, content, output, "another key") is None  # no table recorded for it
    output.rename(synthetic_project / "moved")
    assert check_outputs(cache_dir, content, output, "UTC").changed == cache.outputs.keys()  # no output: all gone
