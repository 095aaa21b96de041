"""A fast path for plain front matter: yaml-rs parses it when a line grammar proves PyYAML would agree.

PyYAML's safe loader (with its C parser) is the reference: it gives the values and the line
numbers of problems. It costs 0.25-0.3 ms for a typical article, most of it in Python code
around the C parser; this path (the grammar check, then yaml-rs, in Rust) about 0.04 ms. But
yaml-rs follows YAML 1.2 and PyYAML YAML 1.1, and they disagree on ``yes``/``no``/``on``/``off``, ``017``,
``0o17``, ``1e3``, ``1:20``, ``12:30:00``, ``2020-08-17 08:14``, impossible dates, merge keys,
duplicate keys, tags (yaml-rs drops unknown ones), and even quoted timestamps (yaml-rs turns
``"2020-08-17"`` into a date).

So :func:`load` accepts only documents whose every line matches :data:`_DOCUMENT`, a subset on
which both give the same value, and returns None for anything else (the caller then uses
PyYAML). The subset: block mappings and sequences, one complete scalar per line, nesting at
most 64 columns and 8 dashes deep, and scalars that are

* keys: identifiers starting with a letter (yaml-rs reads ``_1`` as 1), but not YAML 1.1 booleans
  or nulls (``on:`` is the key True in PyYAML);
* single-line quoted strings (double-quoted: only the ``\\\\`` and ``\\"`` escapes) whose text
  does not look like a date or a time;
* plain text starting with a letter that is not a YAML 1.1 boolean or null word and holds no
  ``: `` or `` #``;
* decimal integers without leading zeros, ``true``/``false`` and ``null``/``~`` in the spellings
  both versions share, and ISO 8601 dates and date-times (``T``, seconds, up to 6 decimals, ``Z``
  or ``+hh:mm``) that are real dates and times: PyYAML refuses February 30, yaml-rs keeps it as text.

No tags, anchors, aliases, merge keys, flow collections, comments, multi-line or block scalars,
tabs or Unicode line separators get through, so alias bombs and unsafe tags never reach yaml-rs.
yaml-rs refuses duplicate keys (PyYAML keeps the last): those documents go to PyYAML too.
tests/test_fastyaml.py checks the agreement on every test corpus and on generated documents.
"""

from __future__ import annotations

import re
from typing import Any

import yaml_rs

MAX_LINES = 2_000  # far below content.MAX_YAML_NODES values: a longer document goes to PyYAML's checks

# Never inside a scalar on this path: line breaks (YAML 1.1 has four), tabs, a byte order mark
# and the control characters PyYAML refuses (the load stage has removed them; this module does not rely on it).
_BAD = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff"
_WORDS = r"(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)"
_KEY = rf"(?!{_WORDS}:)[A-Za-z][A-Za-z0-9_-]*"
_DATE_OR_TIME = r"[0-9][0-9:+.TtZz -]*"  # quoted text yaml-rs might read as a date or time
_DOUBLE = rf'"(?!{_DATE_OR_TIME}")[^"\\{_BAD}]*(?:\\[\\"][^"\\{_BAD}]*)*"'
_SINGLE = rf"'(?!{_DATE_OR_TIME}')[^'{_BAD}]*(?:''[^'{_BAD}]*)*'"
_PLAIN = rf"(?!{_WORDS} *\n)[^\W\d_][^:#{_BAD}]*(?:(?::(?=\S)|(?<! )#)[^:#{_BAD}]*)*"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (  # only real dates: PyYAML refuses the rest (2021-02-29, year 0), which yaml-rs keeps as text
    r"(?:(?!0000)[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    rf"|(?:0[13578]|1[02])-31)|{_LEAP_YEAR}-02-29)"
)
_TIMESTAMP = (
    rf"{_DATE}(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{{1,6}})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
_SCALAR = (
    rf"(?:{_DOUBLE}|{_PLAIN}|-?(?:0|[1-9][0-9]{{0,17}})|{_TIMESTAMP}"
    rf"|true|True|TRUE|false|False|FALSE|null|Null|NULL|~|{_SINGLE})"
)
_LINE = rf" {{0,64}}(?:(?:- +){{0,8}}(?:{_KEY}:(?: +{_SCALAR})?|-)|(?:- +){{1,8}}{_SCALAR})? *\n"
_DOCUMENT = re.compile(rf"(?:{_LINE})*")


def load(front_matter: str) -> dict[Any, Any] | None:
    """The mapping PyYAML's safe loader gives for ``front_matter``, or None if this path cannot vouch for it."""
    if front_matter.count("\n") > MAX_LINES or not _DOCUMENT.fullmatch(front_matter):
        return None
    try:
        meta = yaml_rs.loads(front_matter)
    except yaml_rs.YAMLDecodeError:
        return None
    return meta if isinstance(meta, dict) and meta else None
