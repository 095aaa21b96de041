"""The yaml-rs fast path gives exactly what PyYAML's safe loader gives, or steps aside.

Every file of every test corpus is parsed both ways (the fast path, and PyYAML alone as the
reference) and must give the same value, the same Article and the same problems; generated
documents probe the YAML 1.1 / 1.2 edges where the two libraries differ.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.corpus import article_file
from digest import content, fastyaml
from tests.helpers import ROOT, SEED

UTC = ZoneInfo("UTC")
GENERATED = 1000


def corpus() -> list[tuple[str, bytes]]:
    """(name, bytes) of the sample content, the hostile files, the shared seeds and a generated corpus."""
    folders = [ROOT / "content", ROOT / "tests" / "hostile" / "content", ROOT.parent / "shared" / "seeds"]
    files = [(str(p), p.read_bytes()) for folder in folders for p in sorted(folder.glob("*")) if p.is_file()]
    return files + [(f"generated/{i}.md", article_file(i, GENERATED).encode()) for i in range(GENERATED)]


def reference(front_matter: str) -> object:
    """PyYAML's safe loader, or the exception it raises."""
    try:
        return yaml.load(front_matter, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        return exc


def same(fast: object, slow: object) -> bool:
    """Equal values of equal types: repr tells True from 1, 1 from 1.0 and one time zone from another."""
    return repr(fast) == repr(slow)


def front_matter(data: bytes) -> str | None:
    try:
        return content._split(content._decode(data))[0]
    except content._Invalid:
        return None


def test_fast_path_equals_pyyaml_on_every_corpus_file():
    fast_count = 0
    for name, data in corpus():
        text = front_matter(data)
        fast = fastyaml.load(text) if text is not None else None
        if fast is not None:
            fast_count += 1
            assert same(fast, reference(text)), name
    assert fastyaml.load(front_matter(SEED.read_bytes())) is not None  # the reference article takes the fast path
    assert fast_count >= GENERATED  # so does the whole generated corpus: the test compared real work


def test_articles_and_problems_are_the_same_without_the_fast_path(monkeypatch):
    files = corpus()
    fast = [content.parse_article(data, name, UTC) for name, data in files]
    monkeypatch.setattr(fastyaml, "load", lambda text: None)
    slow = [content.parse_article(data, name, UTC) for name, data in files]
    for (name, _), got, expected in zip(files, fast, slow):
        assert repr(got) == repr(expected), name
    assert sum(a is None for a, _ in slow) >= 10 and sum(bool(p) for _, p in slow) >= 15  # hostile files did fail


@pytest.mark.parametrize("text", [
    "a: yes\n", "a: Off\n", "on: x\n", "a: 017\n", "a: 0o17\n", "a: 08\n", "a: 1e3\n", "a: 1.5\n", "a: 1:20\n",
    "a: 12:30:00\n", "a: 2020-08-17 08:14\n", 'a: "2020-08-17"\n', "a: '12:30:00'\n", "a: 2020-02-30\n",
    "a: 2020-08-17T24:00:00Z\n", "a: &x 1\nb: *x\n", "a: !foo x\n", "a: !!python/object/apply:os.system ['ls']\n",
    "<<: {b: 1}\n", "a: =\n", "a: 1\na: 2\n", "a: [1, 2]\n", "a: {b: 1}\n", "a: x\n  y\n", "a: |\n  x\n", "a:\tx\n",
    "a: x # comment\n", 'a: "\\x41"\n', "a: x\u2028y\n", "- a\n- b\n", "\n", "? a\n: b\n",
])
def test_the_fast_path_steps_aside_where_the_libraries_could_differ(text):
    assert fastyaml.load(text) is None


@pytest.mark.parametrize("year", ["0001", "0004", "1900", "2000", "2020", "2021", "2100", "2400", "9999", "0000"])
def test_dates_take_the_fast_path_exactly_when_pyyaml_can_construct_them(year):
    for month in range(0, 14):
        for day in range(0, 33):
            for value in (f"{year}-{month:02}-{day:02}", f"{year}-{month:02}-{day:02}T23:59:59.5-12:30"):
                document = f"a: {value}\n"
                slow = reference(document)
                fast = fastyaml.load(document)
                assert (fast is not None) == (isinstance(slow, dict) and isinstance(slow["a"], date)), value
                assert fast is None or same(fast, slow), value


def test_pathological_lines_are_refused_quickly():
    for text in ("a: " + "x " * 200_000 + ":\n", 'a: "' + "\\\\" * 200_000 + "\n", "a: x" + " #" * 200_000 + "\n"):
        assert fastyaml.load(text) is None


WORDS = ["yes", "No", "on", "OFF", "true", "False", "TRUE", "null", "Null", "~", "y", "n", "inf", ".inf", ".NaN", "nan"]
NUMBERS = ["0", "-0", "7", "-12", "017", "0o17", "0x1F", "0b11", "1_000", "+12", "1e3", "1.0e+3", "1.5", ".5", "1:20",
           "12:30:00", "123456789012345678901234567890"]
STAMPS = ["2020-08-17", "2020-8-7", "2020-08-17T08:14:00Z", "2020-08-17T08:14:00.1234567+05:30", "2020-02-30",
          "2020-02-29T00:00:00", "2021-02-29", "2020-08-17 08:14", "2020-08-17t08:14:00z", "0000-01-01",
          "2020-08-17T23:59:59-23:59", "2020-08-17T08:14:00.5-00:00", "2020-08-17T08:14:00+0530", "2020-12-31T23:59:59"]
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
word = st.from_regex(r"[A-Za-zé_][A-Za-z0-9 ,.'\"()&!?*#:/-]{0,15}", fullmatch=True)
stamp = st.builds(
    lambda moment, fraction, zone: moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone,
    st.datetimes(), st.sampled_from(["", ".5", ".123456", ".1234567"]),
    st.sampled_from(["", "Z", "+05:30", "-00:00", "+23:59", "-12:00"]),
)
usual = st.one_of(
    word, st.integers(-10**20, 10**20).map(str), stamp, st.dates().map(str),
    st.sampled_from(["true", "False", "TRUE", "null", "Null", "~"]),
)
unusual = st.one_of(
    st.sampled_from(WORDS + NUMBERS + STAMPS), text,
    st.builds("{}{}{}".format, st.sampled_from(STAMPS + NUMBERS), st.sampled_from(["", " ", "x", ":", " #", "-"]), text),
)


def quote(strategy):
    return st.one_of(
        strategy.map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
        strategy.map(lambda s: "'" + s.replace("'", "''") + "'"),
    )


odd = st.sampled_from(['"\\n"', '"\\u00e9"', "[a, b]", "{a: 1}", "&x 1", "*x", "!t x", "|", ">-", ""])
# Mostly values the fast path takes (so that it is compared often), sometimes one it must refuse.
scalar = st.integers(0, 39).flatmap(lambda n: usual if n < 24 else quote(usual) if n < 36 else [
    unusual, quote(unusual), odd, odd][n - 36])
name = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True)
key = st.integers(0, 19).flatmap(lambda n: name if n < 18 else st.one_of(
    st.sampled_from(["on", "yes", "null", "True", "1", "<<", "x y", '"q"', "_1"]), text))
trail = st.sampled_from([""] * 12 + ["  ", " # c", "\t"])


def block(node, indent: int, shift) -> list[str]:
    """Block lines for a tree of spelled scalars (lists: sequences, tuples of pairs: mappings).

    ``shift`` draws each nesting step of a mapping's value, sometimes a wrong one.
    """
    pad = " " * indent
    lines = []
    if isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                lines.append(f"{pad}- {item}")
            else:
                inner = block(item, indent + 2, shift)
                lines.append(f"{pad}- {inner[0].lstrip()}" if inner else f"{pad}-")
                lines += inner[1:]
    else:
        for name, value in node:
            if isinstance(value, str):
                lines.append(f"{pad}{name}: {value}".rstrip() if value else f"{pad}{name}:")
            else:
                lines.append(f"{pad}{name}:")
                lines += block(value, indent + shift(), shift)
    return lines


tree = st.recursive(scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(st.tuples(key, inner), max_size=5).map(tuple)), max_leaves=14)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(key, tree), min_size=1, max_size=5).map(tuple), st.data())
def test_generated_documents_load_the_same_or_go_to_pyyaml(top, data):
    shift = lambda: data.draw(st.sampled_from([2] * 12 + [4, 0, 1, 3]))
    lines = [line + data.draw(trail) for line in block(top, data.draw(st.sampled_from([0] * 8 + [1])), shift)]
    document = "\n" + "\n".join(lines) + "\n"
    fast = fastyaml.load(document)
    if fast is not None:
        assert same(fast, reference(document)), document
