"""What outreach knows about a member besides her tasks, and the priority inputs read from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from shared.events import utcnow

from ..domain import MemberProfile, PriorityContext, Task
from ..domain.model import TERMINAL


@dataclass
class MemberFacts:
    """The roster profile, known diagnoses, gaps (from gaps.events) and encounters (from
    care.transitions) of one member."""

    member_id: str
    profile: MemberProfile | None = None
    roster_stamp: tuple[datetime, datetime] | None = None  # (occurred_at, recorded_at) of the stored snapshot
    diagnoses: set[str] = field(default_factory=set)
    gaps: dict[str, dict[str, Any]] = field(default_factory=dict)  # gap_key → gap record
    encounters: dict[str, dict[str, Any]] = field(default_factory=dict)  # encounter_id → encounter record
    risk_history: tuple[tuple[date, str], ...] = ()  # computed tiers by the day they take effect (risk.tiers)
    risk_stamp: tuple[str, datetime] | None = None  # (decided_on, occurred_at) of the stored history

    def open_gap_count(self) -> int:
        return sum(1 for g in self.gaps.values() if g["status"] == "open")


def tier_on(history: tuple[tuple[date, str], ...], day: date, fallback: str) -> str:
    """The computed tier in force on ``day``; ``fallback`` (the roster's) before the first span."""
    tier = fallback
    for start, t in sorted(history):
        if start <= day:
            tier = t
    return tier


def priority_context(facts: MemberFacts, tasks: Iterable[Task], tz: tzinfo) -> PriorityContext:
    """Risk tier from the roster (or the computed tier in force, from risk.tiers), open gaps from
    gaps.events, the last discharge and readmission from care.transitions (and from the member's
    TCM tasks, whichever is later)."""
    tasks = list(tasks)
    discharges = [t.anchor_date for t in tasks if t.kind == "tcm" and t.anchor_date]
    readmits = [t.readmitted_on for t in tasks if t.readmitted_on]
    for enc in facts.encounters.values():
        if enc["status"] != "active":
            continue
        if enc["kind"] == "discharge" and enc["discharge_at"] is not None:
            discharges.append(enc["discharge_at"].astimezone(tz).date())
            if enc["readmission"] and enc["admit_at"] is not None:
                readmits.append(enc["admit_at"].astimezone(tz).date())
        elif enc["kind"] == "readmission" and enc["admit_date"] is not None:
            readmits.append(enc["admit_date"])
    open_gap_tasks = sum(1 for t in tasks if t.kind == "gap" and t.status not in TERMINAL)
    roster_tier = facts.profile.risk_tier if facts.profile else "low"
    return PriorityContext(
        risk_tier=tier_on(facts.risk_history, utcnow().astimezone(tz).date(), roster_tier)
        if facts.risk_history else roster_tier,
        open_gaps=max(facts.open_gap_count(), open_gap_tasks),
        last_discharge=max(discharges, default=None),
        last_readmission=max(readmits, default=None),
    )
