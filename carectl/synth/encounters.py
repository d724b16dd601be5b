"""What the care model produces for one person: registrations, hospital stays, ED visits,
professional services. Plain records; nothing here renders a file format.

All times are local wall-clock (naive) datetimes in the run's time zone; the writers attach
the zone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .population import Person

@dataclass(slots=True)
class Registration:
    """Who the hospital thinks the patient is: the MRN it used, and whether the roster knows it."""
    hospital: int
    mrn: str
    matchable: bool
    merge_into: str | None = None     # a temporary MRN later merged (A40) into this real MRN
    merge_at: datetime | None = None


@dataclass(slots=True)
class Stay:
    kind: str                          # inpatient | observation | cancelled
    reg: Registration
    visit: str
    admit: datetime
    discharge: datetime
    dx: list[tuple[str, str]]
    disposition: str = "01"
    unit: str = ""
    room: str = ""
    bed: str = "A"
    attending: int = 0
    via_ed: datetime | None = None     # ED arrival before the admission
    use_a06: bool = False              # ED → inpatient as A06 (else A01)
    elective: bool = False
    preadmit: datetime | None = None   # A05
    transfer: tuple[datetime, str] | None = None           # A02 to a unit
    transfer_cancel: datetime | None = None                # A12
    update_at: datetime | None = None                      # A08 with a further diagnosis
    discharge_cancel: tuple[datetime, datetime] | None = None  # first A03 and its A13
    convert_at: datetime | None = None                     # A07 (observation)
    cancel_at: datetime | None = None                      # A11
    readmission: bool = False
    surgery: str | None = None


@dataclass(slots=True)
class EdVisit:
    reg: Registration
    visit: str
    arrival: datetime
    depart: datetime
    dx: list[tuple[str, str]]
    level: str                         # 99283..99285
    attending: int = 0


@dataclass(slots=True)
class Service:
    """Professional services on one day by one provider (becomes one 837P claim)."""
    day: date
    kind: str                          # office preventive followup colonoscopy fit sdna mammo history hospitalist ed
    lines: list[tuple[str, tuple[str, ...], int, tuple[int, ...]]]   # code, modifiers, units, dx pointers
    dx: list[str]
    pos: str
    billing_npi: str
    rendering_npi: str
    end_day: date | None = None


@dataclass(slots=True)
class CareHistory:
    person: Person
    stays: list[Stay] = field(default_factory=list)
    ed_visits: list[EdVisit] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)     # in-period professional services
    history: list[Service] = field(default_factory=list)      # before the period (history batch)
    merges: list[tuple[datetime, Registration, str]] = field(default_factory=list)


class Counters:
    """Run-wide counters for visit numbers and temporary MRNs (deterministic: one thread)."""

    def __init__(self) -> None:
        self.visit = 0
        self.temp_mrn = 0

    def next_visit(self) -> str:
        self.visit += 1
        return f"V{self.visit:09d}"

    def next_temp_slot(self) -> int:
        self.temp_mrn += 1
        return 8_000_000 + self.temp_mrn


def time_on(day: date, rng: random.Random, lo: float, hi: float) -> datetime:
    secs = int(rng.uniform(lo, hi) * 3600)
    return datetime.combine(day, time(0)) + timedelta(seconds=secs)


def weekday_near(day: date, rng: random.Random, lo: date, hi: date) -> date:
    """Move a weekend date to a nearby weekday inside [lo, hi)."""
    wd = day.weekday()
    if wd >= 5:
        cand = day + timedelta(days=7 - wd) if rng.random() < 0.6 else day - timedelta(days=wd - 4)
        if lo <= cand < hi:
            return cand
    return day


def day_between(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randrange(max(1, (hi - lo).days)))
