"""Date archives: the posts grouped by day, month and year of publication in the site's time zone.

A pure function of the site's posts (each already carries its local ``day``), so archives are
rebuilt in full on every build and always agree with the article URLs, whose date folders are
the same days. Like every list, they show only the listed posts (``min_quality``); a day whose
posts are all hidden keeps its (empty) page, because those articles' dates link to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from .site import Post, Site, Stories

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
KINDS = ("year", "month", "day")


@dataclass(frozen=True, slots=True)
class Period:
    """One day, month or year of the archive and its listed posts, newest first."""

    kind: str  # one of KINDS
    start: date  # the period's first day
    posts: tuple[Post, ...]

    @property
    def label(self) -> str:
        """How the period is named on its page: "17 August 2020", "August 2020", "2020"."""
        return period_label(self.kind, self.start)

    @property
    def ref(self) -> PeriodRef:
        return PeriodRef(self.kind, self.start)


@dataclass(frozen=True, slots=True)
class PeriodRef:
    """A period without its posts: all a link to it needs.

    Page inputs hold these for navigation (trail, newer, older), so a day page does not
    depend on every post of its year and is not rendered again when any of them changes.
    """

    kind: str
    start: date

    @property
    def label(self) -> str:
        return period_label(self.kind, self.start)


def period_label(kind: str, start: date) -> str:
    """How a period is named: "17 August 2020", "August 2020", "2020"."""
    if kind == "year":
        return str(start.year)
    month = f"{MONTHS[start.month - 1]} {start.year}"
    return month if kind == "month" else f"{start.day} {month}"


@dataclass(frozen=True, slots=True)
class Archive:
    """Every period that has posts (listed or not), newest first, per kind."""

    years: tuple[Period, ...]
    months: tuple[Period, ...]
    days: tuple[Period, ...]

    def within(self, period: Period) -> tuple[Period, ...]:
        """The periods one level down: the months of a year, the days of a month (newest first)."""
        if period.kind == "year":
            return tuple(m for m in self.months if m.start.year == period.start.year)
        if period.kind == "month":
            return tuple(d for d in self.days if d.start.replace(day=1) == period.start)
        return ()


def build_archive(site: Site | Stories) -> Archive:
    """A period for every local day, month and year with a post; each lists that period's listed
    posts, newest first (``site.listed`` is newest first)."""
    by_day: dict[date, list[Post]] = {post.day: [] for post in site.posts}
    for post in site.listed:
        by_day[post.day].append(post)
    days = tuple(Period("day", day, tuple(by_day[day])) for day in sorted(by_day, reverse=True))
    months = _merge(days, "month", lambda d: d.replace(day=1))
    years = _merge(months, "year", lambda d: d.replace(month=1, day=1))
    return Archive(years, months, days)


def _merge(periods: Sequence[Period], kind: str, start_of: Callable[[date], date]) -> tuple[Period, ...]:
    """Concatenate consecutive (newest-first) periods that fall in the same larger period."""
    merged: dict[date, list[Post]] = {}
    for period in periods:
        merged.setdefault(start_of(period.start), []).extend(period.posts)
    return tuple(Period(kind, start, tuple(items)) for start, items in merged.items())


def neighbours(periods: Sequence[Period], index: int) -> tuple[Period | None, Period | None]:
    """The next newer and next older period of the same kind that has posts (None at either end)."""
    newer = periods[index - 1] if index > 0 else None
    older = periods[index + 1] if index + 1 < len(periods) else None
    return newer, older
