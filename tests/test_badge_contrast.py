"""Provider badges meet WCAG AA in the light and dark themes: the monogram on its colour (4.5:1),
for the theme's 12 colours and any site.yaml hex colour, and the mark against the page (3:1)."""

from __future__ import annotations

import itertools
import re

from digest.badges import AA_TEXT, BLACK, WHITE, contrast, monogram_colour
from digest.site import ProviderRef
from tests.helpers import ROOT

CSS = (ROOT / "static" / "css" / "site.css").read_text(encoding="utf-8")
AA_NON_TEXT = 3.0  # WCAG 2.1 SC 1.4.11: graphical objects against adjacent colours
PALETTE = dict(re.findall(r"\.badge__mark--(\d+), \.placeholder--\d+ \{ --badge: (#[0-9a-f]{6}); \}", CSS))
# Every 17th step of each channel, black and white included: 4,096 colours a site.yaml may set.
SWEEP = ["#" + "".join(f"{c:02x}" for c in rgb) for rgb in itertools.product(range(0, 256, 17), repeat=3)]


def theme_block(dark: bool) -> str:
    """The custom properties of the light theme (:root) or of the dark theme's :root override."""
    if dark:
        block = CSS[CSS.index("@media (prefers-color-scheme: dark)"):]
        return block[: block.index("\n}\n")]
    return CSS[CSS.index(":root {"):CSS.index("@media (prefers-color-scheme: dark)")]


def theme_colour(name: str, dark: bool) -> str:
    colour = re.search(rf"--{name}: (#[0-9a-f]{{3,6}});", theme_block(dark)).group(1)
    return "#" + "".join(c * 2 for c in colour[1:]) if len(colour) == 4 else colour


def mix_half(a: str, b: str) -> str:
    """``color-mix(in srgb, a 50%, b)``: the mean of each gamma-encoded channel, as a browser rounds it."""
    return "#" + "".join(f"{round((int(a[i:i + 2], 16) + int(b[i:i + 2], 16)) / 2):02x}" for i in (1, 3, 5))


def test_contrast_formula_matches_known_values():
    assert round(contrast("#ffffff", "#000000"), 2) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic just-fails grey
    assert mix_half("#b12525", "#ffffff") == "#d89292"


def test_every_palette_colour_carries_its_white_monogram_at_aa_in_both_themes():
    assert sorted(map(int, PALETTE)) == list(range(12))
    assert {ProviderRef("x", "X", f"d{i}.example").palette for i in range(200)} <= set(PALETTE)
    # The monogram is white unless a generated rule sets --badge-text; the dark theme changes neither.
    assert re.search(r"\.badge__mark, \.placeholder \{[^}]*\bcolor: var\(--badge-text, #fff\);", CSS)
    dark = theme_block(dark=True)
    assert not re.search(r"--badge(-text)?:", dark) and ".badge" not in dark and ".placeholder" not in dark
    for index, colour in PALETTE.items():
        assert contrast(WHITE, colour) >= AA_TEXT, (index, colour, round(contrast(WHITE, colour), 2))


def test_any_site_yaml_colour_gets_a_monogram_colour_at_aa():
    assert monogram_colour("#1a5fb4") == WHITE and monogram_colour("#f6d32d") == BLACK
    for colour in SWEEP:
        text = monogram_colour(colour)
        assert contrast(text, colour) >= AA_TEXT, (colour, text, round(contrast(text, colour), 2))
        assert text == WHITE or contrast(WHITE, colour) < AA_TEXT  # white, the palette's, whenever it passes


def test_every_mark_stands_out_from_the_page_at_3_to_1_in_both_themes():
    """The mark's ring (its colour mixed half-way to --badge-edge) against the page background and
    the card surface, for the palette and for any colour site.yaml may set."""
    rule = re.search(r"\.badge__mark \{([^}]*)\}", CSS).group(1)
    assert "box-shadow: inset 0 0 0 2px color-mix(in srgb, var(--badge, #444) 50%, var(--badge-edge));" in rule
    for dark in (False, True):
        edge = theme_colour("badge-edge", dark)
        backgrounds = (theme_colour("bg", dark), theme_colour("surface", dark))
        for colour in [*PALETTE.values(), "#444444", *SWEEP]:
            ring = mix_half(colour, edge)
            for background in backgrounds:
                assert contrast(ring, background) >= AA_NON_TEXT, (dark, colour, ring, background)
