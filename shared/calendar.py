"""Business days: Monday to Friday, not a holiday.

US federal holidays are computed for any year (observed on the nearest weekday when they fall
on a weekend); a deployment adds or removes dates with a holiday file (one ISO date per line,
``-YYYY-MM-DD`` removes one) given by the ``HOLIDAYS_FILE`` setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


def _last_weekday(year: int, month: int, weekday: int) -> date:
    d = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def _observed(d: date) -> date:
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


@lru_cache(maxsize=64)
def us_federal_holidays(year: int) -> frozenset[date]:
    days = {
        _observed(date(year, 1, 1)),  # New Year's Day
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _last_weekday(year, 5, 0),  # Memorial Day
        _observed(date(year, 6, 19)),  # Juneteenth
        _observed(date(year, 7, 4)),  # Independence Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _observed(date(year, 11, 11)),  # Veterans Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),  # Christmas
    }
    # New Year's Day of the next year observed on Dec 31 of this one.
    nxt = _observed(date(year + 1, 1, 1))
    if nxt.year == year:
        days.add(nxt)
    return frozenset(days)


class BusinessCalendar:
    """Weekends and holidays skipped. ``extra`` adds holidays, ``removed`` drops computed ones."""

    def __init__(self, extra: Iterable[date] = (), removed: Iterable[date] = (), federal: bool = True) -> None:
        self.extra = frozenset(extra)
        self.removed = frozenset(removed)
        self.federal = federal

    @classmethod
    def from_file(cls, path: str | Path | None, federal: bool = True) -> "BusinessCalendar":
        if not path:
            return cls(federal=federal)
        extra, removed = [], []
        for n, line in enumerate(Path(path).read_text().splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            target = removed if line.startswith("-") else extra
            try:
                target.append(date.fromisoformat(line.lstrip("-+")))
            except ValueError:
                raise ValueError(f"{path}:{n}: not an ISO date: {line!r}") from None
        return cls(extra, removed, federal)

    def is_holiday(self, d: date) -> bool:
        if d in self.extra:
            return True
        return self.federal and d in us_federal_holidays(d.year) and d not in self.removed

    def is_business_day(self, d: date) -> bool:
        return d.weekday() < 5 and not self.is_holiday(d)

    def add_business_days(self, start: date, n: int) -> date:
        """The n-th business day after ``start`` (``start`` itself never counts)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        while n:
            d += timedelta(days=1)
            if self.is_business_day(d):
                n -= 1
        return d

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.business_days_between(end, start)
        count, d = 0, start
        while d < end:
            d += timedelta(days=1)
            count += self.is_business_day(d)
        return count
