"""Provider badges: the hex colours and logo files ``site.yaml`` may give them.

The theme's 12 badge colours live in ``static/css/site.css``, each dark enough for the white
monogram. A colour from ``site.yaml`` can be anything, so its monogram colour is decided here
by WCAG contrast: white when white reaches AA (4.5:1) on it, else black, which then always does
(every colour has at least 4.58:1 with black or with white). Those colours reach the pages as a
generated stylesheet: the pages' Content-Security-Policy (``style-src 'self'``) allows no
``style`` attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .config import ConfigError, ProviderOverride

AA_TEXT = 4.5  # WCAG 2 AA, normal-size text
WHITE, BLACK = "#ffffff", "#000000"
STYLESHEET = "css/provider-colours.css"  # where the generated stylesheet is published (fingerprinted)


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two "#rrggbb" colours, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def monogram_colour(background: str) -> str:
    """White, the theme's monogram colour, when it reaches AA on ``background``; else black."""
    return WHITE if contrast(WHITE, background) >= AA_TEXT else BLACK


def colour_class(colour: str) -> str:
    """The class suffix of a "#rrggbb" badge colour ("c1a5fb4"), next to the palette's "0"-"11"."""
    return "c" + colour.removeprefix("#")


def stylesheet(overrides: Sequence[ProviderOverride]) -> bytes | None:
    """CSS for the hex badge colours of ``site.yaml`` (one rule per colour), or None when it sets none."""
    colours = sorted({o.color for o in overrides if isinstance(o.color, str)})
    if not colours:
        return None
    lines = ["/* Generated from site.yaml's provider colours: each with a monogram colour that reaches WCAG AA on it. */"]
    for colour in colours:
        name = colour_class(colour)
        lines.append(f".badge__mark--{name}, .placeholder--{name} {{ --badge: {colour}; --badge-text: {monogram_colour(colour)}; }}")
    return ("\n".join(lines) + "\n").encode()


def check_logos(overrides: Sequence[ProviderOverride], static_folders: Sequence[Path], config_path: Path | None) -> None:
    """Every ``logo`` names a file in one of the static folders (the first that has it wins, as
    for every asset) and really lies inside that folder: a symbolic link out of it is refused."""
    where = f"{config_path}: " if config_path else ""
    for override in overrides:
        if override.logo is None:
            continue
        key = f"{where}providers.{override.domain}.logo"
        folder = next((f for f in static_folders if (f / override.logo).is_file()), None)
        if folder is None:
            raise ConfigError(f"{key}: no such file under static/: {override.logo}")
        if not (folder / override.logo).resolve().is_relative_to(folder.resolve()):
            raise ConfigError(f"{key}: {override.logo} resolves to a file outside static/")
