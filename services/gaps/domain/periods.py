"""Measurement periods, ages and how long a piece of evidence keeps counting.

A period is a run of days; measures use annual periods (the calendar year by default, or
any 12-month span starting on the same day every year). Age is always the age on the last
day of the period.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def add_years(d: date, years: int) -> date:
    """Same day ``years`` later; Feb 29 becomes Feb 28 in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day`` (a Feb 29 birthday turns over on Mar 1 in common years)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("period ends before it starts")

    @classmethod
    def calendar_year(cls, year: int) -> "Period":
        return cls(date(year, 1, 1), date(year, 12, 31))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def label(self) -> str:
        if self.start.month == 1 and self.start.day == 1 and self.end == date(self.start.year, 12, 31):
            return str(self.start.year)
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def containing(self, day: date) -> "Period":
        """The annual period (same anniversary as this one's start) that holds ``day``."""
        start = add_years(self.start, day.year - self.start.year)
        if start > day:
            start = add_years(self.start, day.year - 1 - self.start.year)
        return Period(start, add_years(start, 1) - ONE_DAY)

    def shifted(self, years: int) -> "Period":
        start = add_years(self.start, years)
        return Period(start, add_years(start, 1) - ONE_DAY)
