"""Accounting periods: calendar months written ``YYYY-MM``.

A period string sorts chronologically, so periods compare with ``<`` and ``max``.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from functools import lru_cache

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@lru_cache(maxsize=4096)
def parse_period(period: str) -> tuple[int, int]:
    """``"2026-03"`` → ``(2026, 3)``; ``ValueError`` for anything else."""
    m = _PERIOD.match(period)
    if m is None:
        raise ValueError("period must be YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def make_period(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def first_day(period: str) -> date:
    y, m = parse_period(period)
    return date(y, m, 1)


@lru_cache(maxsize=4096)
def days_in(period: str) -> int:
    y, m = parse_period(period)
    return calendar.monthrange(y, m)[1]


def last_day(period: str) -> date:
    y, m = parse_period(period)
    return date(y, m, days_in(period))


@lru_cache(maxsize=4096)
def next_period(period: str) -> str:
    y, m = parse_period(period)
    return make_period(y + (m == 12), m % 12 + 1)


@lru_cache(maxsize=4096)
def prev_period(period: str) -> str:
    y, m = parse_period(period)
    return make_period(y - (m == 1), (m - 2) % 12 + 1)


def periods_between(first: str, last: str) -> list[str]:
    """Every period from ``first`` through ``last`` inclusive (empty when ``last < first``)."""
    parse_period(first), parse_period(last)
    out: list[str] = []
    p = first
    while p <= last:
        out.append(p)
        p = next_period(p)
    return out


def month_start_on_or_after(day: date) -> date:
    """``day`` itself when it is the 1st, else the 1st of the following month."""
    if day.day == 1:
        return day
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def performance_year(period: str, start_month: int = 1) -> list[str]:
    """The months of the performance year containing ``period`` from its start through ``period``.

    ``start_month`` 1 is the calendar year; 7 would be a July–June year.
    """
    y, m = parse_period(period)
    start_year = y if m >= start_month else y - 1
    return periods_between(make_period(start_year, start_month), period)
