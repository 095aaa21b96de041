"""Provider badge colours meet WCAG AA: the monogram's text on its colour in the light and dark themes."""

from __future__ import annotations

import re

from digest.site import ProviderRef
from tests.helpers import ROOT

CSS = (ROOT / "static" / "css" / "site.css").read_text(encoding="utf-8")
AA_TEXT = 4.5


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_known_values():
    assert round(contrast("#ffffff", "#000000"), 2) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic just-fails grey


def test_every_palette_colour_carries_its_text_at_aa_in_both_themes():
    palette = dict(re.findall(r"\.badge__mark--(\d+), \.placeholder--\d+ \{ --badge: (#[0-9a-f]{6}); \}", CSS))
    assert sorted(map(int, palette)) == list(range(12))
    assert {ProviderRef("x", "X", f"d{i}.example").palette for i in range(200)} <= set(map(int, palette))
    # The mark's text colour is set once for both themes; the dark theme block must not change it.
    assert re.search(r"\.badge__mark, \.placeholder \{[^}]*\bcolor: #fff;", CSS)
    dark = CSS[CSS.index("@media (prefers-color-scheme: dark)"):]
    dark = dark[: dark.index("\n}\n")]
    assert "--badge" not in dark and ".badge" not in dark and ".placeholder" not in dark
    for index, colour in palette.items():
        assert contrast("#ffffff", colour) >= AA_TEXT, (index, colour, round(contrast("#ffffff", colour), 2))
