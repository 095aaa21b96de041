"""Site settings from ``site.yaml``, validated once so later stages can trust them."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml


class ConfigError(Exception):
    """An invalid configuration: the build cannot start (exit status 2)."""


@dataclass(frozen=True)
class ProviderOverride:
    """Per-provider settings from ``site.yaml``'s ``providers`` mapping (keyed by domain)."""

    domain: str
    name: str | None = None  # display name instead of the most common one in the content
    color: int | str | None = None  # one of the theme's 12 badge colours (0-11), or a "#rrggbb" colour
    logo: str | None = None  # an image file under static/ shown instead of the monogram (checked by badges.check_logos)


PALETTE_SIZE = 12
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Config:
    """Everything the pipeline needs to know about the site, with safe defaults."""

    title: str = "News Digest"
    description: str = "The day's stories, grouped by topic."
    base_url: str = "http://localhost:8000/"
    language: str = "en"
    timezone: str = "UTC"
    page_size: int = 20
    feed_size: int = 50
    home_top: int = 7
    home_topic_cards: int = 4
    related_count: int = 5
    topics: tuple[str, ...] = ()
    stylesheets: tuple[str, ...] = ()  # extra CSS files under static/, linked after the theme's own
    max_file_size: int = 1024 * 1024
    images: str = "auto"  # local | remote | auto: where readers' browsers fetch images from
    top_half_life_hours: float = 24.0
    top_heat_weight: float = 1.0
    top_quality_weight: float = 0.5
    min_quality: int = 0
    cluster_threshold: float = 0.6
    cluster_window_hours: float = 48.0
    search: bool = True  # build a Pagefind index, a /search/ page and a search box
    providers: tuple[ProviderOverride, ...] = ()

    @property
    def base_path(self) -> str:
        """The path part of ``base_url`` ("/" or "/digest/"): every internal link starts with it."""
        return urlsplit(self.base_url).path

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_base_url(self, base_url: str) -> Config:
        return dataclasses.replace(self, base_url=_check_base_url(base_url))


_INT_KEYS = {"page_size": 1, "feed_size": 1, "home_top": 1, "home_topic_cards": 0,
             "related_count": 0, "max_file_size": 1, "min_quality": 0}
# A path below static/: plain segments, no "..", no leading slash, no URL.
_ASSET_DIRS = r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*"
_ASSET_PATH = re.compile(_ASSET_DIRS + r"\.css")
LOGO_TYPES = (".svg", ".png", ".webp", ".avif", ".jpg", ".jpeg", ".gif")
_LOGO_PATH = re.compile(_ASSET_DIRS + "(?:" + "|".join(re.escape(t) for t in LOGO_TYPES) + ")", re.IGNORECASE)
IMAGE_MODES = ("auto", "local", "remote")
# Real-number settings: (lowest allowed, highest allowed, whether the lowest itself is allowed).
_FLOAT_KEYS: dict[str, tuple[float, float | None, bool]] = {
    "top_half_life_hours": (0.0, None, False),
    "top_heat_weight": (0.0, None, True),
    "top_quality_weight": (0.0, None, True),
    "cluster_threshold": (0.0, 1.0, False),
    "cluster_window_hours": (0.0, None, True),
}
_STR_KEYS = {"title", "description", "language", "timezone"}
_BOOL_KEYS = {"search"}


def _provider_overrides(value: Any) -> tuple[ProviderOverride, ...]:
    """``providers: {domain: {name, color, logo}}``; unknown keys and bad values are errors."""
    if not isinstance(value, dict):
        raise ConfigError("providers must be a mapping of provider domains to settings")
    overrides = []
    for domain, settings in sorted(value.items(), key=lambda kv: str(kv[0])):
        if not isinstance(domain, str) or not domain.strip() or not isinstance(settings, dict):
            raise ConfigError(f"providers: {domain!r} must be a domain with a mapping of settings")
        key = f"providers.{domain}"
        unknown = sorted(set(map(str, settings)) - {"name", "color", "logo"})
        if unknown:
            raise ConfigError(f"{key}: unknown setting(s): {', '.join(unknown)}")
        name = settings.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigError(f"{key}.name must be a non-empty string, got {name!r}")
        overrides.append(ProviderOverride(
            domain.strip().lower().removeprefix("www."), name.strip() if name else None,
            _badge_colour(key, settings), _logo_path(key, settings),
        ))
    return tuple(overrides)


def _badge_colour(key: str, settings: dict[Any, Any]) -> int | str | None:
    """A palette number 0-11 or a "#rrggbb" colour (lower-cased); any colour is allowed, because
    the monogram on it turns black where white would not reach WCAG AA (see badges.py)."""
    if "color" not in settings:
        return None
    color = settings["color"]
    if color is None:  # `color: #1a5fb4` unquoted: YAML reads everything after # as a comment
        raise ConfigError(f'{key}.color is empty: quote a hex colour, such as color: "#1a5fb4" (# starts a YAML comment)')
    if isinstance(color, int) and not isinstance(color, bool) and 0 <= color < PALETTE_SIZE:
        return color
    if isinstance(color, str) and HEX_COLOUR.fullmatch(color.strip()):
        return color.strip().lower()
    raise ConfigError(f'{key}.color must be a badge colour number 0-{PALETTE_SIZE - 1} or a hex colour such as "#1a5fb4", got {color!r}')


def _logo_path(key: str, settings: dict[Any, Any]) -> str | None:
    """A relative path of an image below static/; that the file exists there is checked when the
    static folders are known (badges.check_logos)."""
    if "logo" not in settings:
        return None
    logo = settings["logo"]
    if not isinstance(logo, str) or not logo.strip():
        raise ConfigError(f"{key}.logo must be the path of an image file under static/, such as logos/example.svg, got {logo!r}")
    logo = logo.strip()
    if logo.startswith(("/", "\\")) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", logo):
        raise ConfigError(f"{key}.logo must be a path relative to static/, not an absolute path or URL: {logo!r}")
    if ".." in re.split(r"[/\\]", logo):
        raise ConfigError(f"{key}.logo must stay inside static/ (no '..'): {logo!r}")
    if not logo.lower().endswith(LOGO_TYPES):
        raise ConfigError(f"{key}.logo must be an image file ({', '.join(LOGO_TYPES)}): {logo!r}")
    if not _LOGO_PATH.fullmatch(logo):
        raise ConfigError(f"{key}.logo must be a plain path under static/ (letters, digits, '.', '_', '-' and '/', "
                          f"no hidden files), such as logos/example.svg: {logo!r}")
    return logo


def _check_base_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url must be an absolute http(s) URL, got {value!r}")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _check_float(key: str, value: Any) -> float:
    low, high, low_allowed = _FLOAT_KEYS[key]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        number = float(value)
        if (number > low or (low_allowed and number == low)) and (high is None or number <= high):
            return number
    bounds = f"{'>=' if low_allowed else '>'} {low:g}" + (f" and <= {high:g}" if high is not None else "")
    raise ConfigError(f"{key} must be a number {bounds}, got {value!r}")


def config_from_mapping(data: dict[str, Any]) -> Config:
    """Validate a parsed ``site.yaml``; unknown keys are an error so typos do not pass silently."""
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in _INT_KEYS:
            if not isinstance(value, int) or isinstance(value, bool) or value < _INT_KEYS[key]:
                raise ConfigError(f"{key} must be a whole number >= {_INT_KEYS[key]}, got {value!r}")
            values[key] = value
        elif key in _FLOAT_KEYS:
            values[key] = _check_float(key, value)
        elif key in _STR_KEYS:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{key} must be a non-empty string, got {value!r}")
            values[key] = value.strip()
        elif key == "providers":
            values[key] = _provider_overrides(value)
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{key} must be true or false, got {value!r}")
            values[key] = value
        elif key == "base_url":
            if not isinstance(value, str):
                raise ConfigError(f"base_url must be a string, got {value!r}")
            values[key] = _check_base_url(value)
        elif key == "images":
            if value not in IMAGE_MODES:
                raise ConfigError(f"images must be one of {', '.join(IMAGE_MODES)}, got {value!r}")
            values[key] = value
        elif key == "topics":
            if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
                raise ConfigError("topics must be a list of topic names")
            values[key] = tuple(t.strip() for t in value)
        elif key == "stylesheets":
            if not isinstance(value, list) or not all(isinstance(s, str) and _ASSET_PATH.fullmatch(s) for s in value):
                raise ConfigError("stylesheets must be a list of .css paths under static/, such as css/custom.css")
            values[key] = tuple(value)
    config = Config(**values)
    if config.top_heat_weight == config.top_quality_weight == 0:
        raise ConfigError("top_heat_weight and top_quality_weight cannot both be 0")
    try:
        config.tz
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone {config.timezone!r}") from None
    return config


def load_config(path: Path | None) -> Config:
    """Read ``site.yaml``; a missing default file means defaults, a named missing file is an error."""
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}:" if mark else ""
        raise ConfigError(f"{path}:{line} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: config must be a mapping of settings")
    try:
        return config_from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
