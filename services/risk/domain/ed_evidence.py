"""Extended-hours evidence: each practice's attributed members' ED visits, month by month.

For every visit: the practice the member was attributed to on the visit's day, whether it fell
in the practice's open or closed hours (``unknown`` for a claims-only visit on a day the practice
was open part of the day: a claim has a date, not a time), and whether its primary diagnosis is
on the avoidable list. Counts, never only shares, so a reader can judge noise; shares are of the
visits whose hours are known (closed share) and of all visits (avoidable share).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from .avoidable import AvoidableList
from .ed_visits import EdVisit
from .opening_hours import PracticeHours

OPEN, CLOSED, UNKNOWN = "open", "closed", "unknown"


def hours_class(visit: EdVisit, hours: PracticeHours | None) -> str:
    if hours is None:
        return UNKNOWN
    if visit.arrival is not None:
        return OPEN if hours.is_open(visit.arrival) else CLOSED
    return CLOSED if hours.closed_all_day(visit.day) else UNKNOWN


@dataclass(frozen=True, slots=True)
class ClassifiedVisit:
    practice_id: str
    month: str
    period: str
    hours: str
    avoidable: str | None
    sources: str
    extended_slot: bool = False     # in a time the program opened (known arrival time only)


@dataclass
class MonthRow:
    practice_id: str
    month: str
    period: str
    visits: int = 0
    open_hours: int = 0
    closed_hours: int = 0
    unknown_hours: int = 0
    avoidable: int = 0
    avoidable_closed: int = 0
    extended_slot: int = 0
    from_adt_only: int = 0
    from_claims_only: int = 0
    from_both: int = 0
    by_category: dict[str, int] = field(default_factory=dict)

    def add(self, v: ClassifiedVisit) -> None:
        self.visits += 1
        if v.hours == OPEN:
            self.open_hours += 1
        elif v.hours == CLOSED:
            self.closed_hours += 1
        else:
            self.unknown_hours += 1
        if v.avoidable:
            self.avoidable += 1
            self.by_category[v.avoidable] = self.by_category.get(v.avoidable, 0) + 1
            if v.hours == CLOSED:
                self.avoidable_closed += 1
        if v.extended_slot:
            self.extended_slot += 1
        if v.sources == "both":
            self.from_both += 1
        elif v.sources == "adt":
            self.from_adt_only += 1
        else:
            self.from_claims_only += 1

    @property
    def closed_share(self) -> float | None:
        known = self.open_hours + self.closed_hours
        return round(self.closed_hours / known, 4) if known else None

    @property
    def avoidable_share(self) -> float | None:
        return round(self.avoidable / self.visits, 4) if self.visits else None

    def to_dict(self) -> dict:
        return {
            "practice_id": self.practice_id, "month": self.month, "period": self.period, "visits": self.visits,
            "open_hours": self.open_hours, "closed_hours": self.closed_hours, "unknown_hours": self.unknown_hours,
            "closed_share": self.closed_share, "avoidable": self.avoidable, "avoidable_share": self.avoidable_share,
            "avoidable_closed_hours": self.avoidable_closed, "in_extended_slots": self.extended_slot,
            "from_adt_only": self.from_adt_only,
            "from_claims_only": self.from_claims_only, "from_both": self.from_both,
            "by_category": dict(sorted(self.by_category.items())),
        }


def classify(visit: EdVisit, *, practice_id: str, hours: PracticeHours | None, avoidable: AvoidableList,
             age: int | None) -> ClassifiedVisit:
    return ClassifiedVisit(
        practice_id=practice_id, month=f"{visit.day:%Y-%m}",
        period=hours.period_of(visit.day) if hours else "no_program",
        hours=hours_class(visit, hours), avoidable=avoidable.classify(visit.primary_dx, age), sources=visit.sources,
        extended_slot=bool(hours and visit.arrival and hours.in_extended_slot(visit.arrival)),
    )


def monthly_rows(visits: Iterable[ClassifiedVisit]) -> list[MonthRow]:
    rows: dict[tuple[str, str, str], MonthRow] = {}
    for v in visits:
        key = (v.practice_id, v.month, v.period)  # a program starting mid-month splits its month
        row = rows.get(key)
        if row is None:
            row = rows[key] = MonthRow(v.practice_id, v.month, v.period)
        row.add(v)
    return [rows[k] for k in sorted(rows)]


def before_after(rows: Iterable[MonthRow]) -> dict[str, dict[str, dict]]:
    """Per practice: the totals before and after its program's start (or over all months)."""
    out: dict[str, dict[str, MonthRow]] = {}
    for r in rows:
        total = out.setdefault(r.practice_id, {}).setdefault(r.period, MonthRow(r.practice_id, "", r.period))
        for name in ("visits", "open_hours", "closed_hours", "unknown_hours", "avoidable", "avoidable_closed",
                     "extended_slot", "from_adt_only", "from_claims_only", "from_both"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        for k, n in r.by_category.items():
            total.by_category[k] = total.by_category.get(k, 0) + n
    result = {}
    for pid, periods in sorted(out.items()):
        months = {}
        for period, total in periods.items():
            d = total.to_dict()
            d.pop("month")
            months[period] = d
        result[pid] = months
    return result


AttributionLookup = Callable[[str, date], str | None]
