"""Utilization signals of the last 12 months: admissions, ED visits, readmissions, open gaps.

Inpatient admissions come from ADT (an inpatient admission alert or an inpatient discharge)
and from inpatient claims (bill type 11x); a claim stay whose admission date is within a day
of an ADT admission of the same member is the same stay. ED visits are the merged visits of
``ed_visits.merge_visits`` (ADT and claims, deduplicated). Readmissions are the admissions
service's 30-day readmission events (retracted ones removed). Open gaps: each care gap's
latest status is ``open``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .tiers import Utilization

WINDOW_DAYS = 365


@dataclass(frozen=True, slots=True)
class Stay:
    admit_day: date
    source: str          # "adt" or "claims"
    key: str             # encounter key or claim id


def merge_stays(adt: Iterable[Stay], claims: Iterable[Stay]) -> list[Stay]:
    out = list(adt)
    taken = [s.admit_day for s in out]
    for c in sorted(claims, key=lambda s: s.admit_day):
        match = next((i for i, d in enumerate(taken) if abs((d - c.admit_day).days) <= 1), None)
        if match is None:
            out.append(c)
        else:
            taken[match] = date.min  # one claim stay per ADT stay
    return sorted(out, key=lambda s: s.admit_day)


def in_window(day: date, as_of: date, days: int = WINDOW_DAYS) -> bool:
    return as_of - timedelta(days=days) < day <= as_of


def utilization(as_of: date, *, stays: Iterable[Stay], ed_days: Iterable[date], readmit_days: Iterable[date],
                open_gaps: int) -> Utilization:
    return Utilization(
        admissions=sum(1 for s in stays if in_window(s.admit_day, as_of)),
        ed_visits=sum(1 for d in ed_days if in_window(d, as_of)),
        readmissions=sum(1 for d in readmit_days if in_window(d, as_of)),
        open_gaps=open_gaps,
    )
