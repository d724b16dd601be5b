"""Loading and saving tasks and member facts: the few statements the worker, the API and the
daily jobs share. Batch-shaped: one query per table for a whole batch of members.

Every task update is ``UPDATE … WHERE task_id = :id AND version = :read``; when fewer rows
change than expected, :class:`StaleTask` is raised (the consumer rolls the batch back, reloads
and decides again; the API answers 409).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from shared.errors import TransientError

from shared.events import utcnow

from . import risk_tiers, store
from .domain import MemberProfile, PriorityContext, Task, Transition
from .domain.model import TERMINAL

CHUNK = 500
NON_TERMINAL = ("open", "claimed", "in_progress", "scheduled")


class StaleTask(TransientError):
    """A task changed between reading and writing it (optimistic concurrency)."""


def chunks(items: Sequence[Any], size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------------- tasks

def get_task(session: Session, task_id: uuid.UUID) -> Task | None:
    row = session.execute(select(store.tasks).where(store.tasks.c.task_id == str(task_id))).first()
    return store.task_from_row(row) if row else None


def tasks_of_members(session: Session, member_ids: Iterable[str]) -> dict[str, list[Task]]:
    ids = sorted(set(member_ids))
    out: dict[str, list[Task]] = {m: [] for m in ids}
    for part in chunks(ids):
        for row in session.execute(select(store.tasks).where(store.tasks.c.member_id.in_(part))):
            task = store.task_from_row(row)
            out[task.member_id].append(task)
    return out


def insert_tasks(session: Session, new: Sequence[Task]) -> None:
    if new:
        session.execute(insert(store.tasks), [store.task_row(t) for t in new])


def update_tasks(session: Session, items: Sequence[tuple[Task, int]], columns: Sequence[str], *,
                 check_version: bool = True) -> None:
    """Write ``columns`` of each task where its version is still the one read.

    Raises :class:`StaleTask` when a row changed meanwhile (rows checked: all of them)."""
    if not items:
        return
    t = store.tasks
    cond = t.c.task_id == bindparam("b_task_id")
    if check_version:
        cond = and_(cond, t.c.version == bindparam("b_expected"))
    stmt = update(t).where(cond).values({c: bindparam(f"v_{c}") for c in columns})
    params = []
    for task, expected in items:
        row = store.task_row(task)
        p = {f"v_{c}": row[c] for c in columns}
        p["b_task_id"] = row["task_id"]
        p["b_expected"] = expected
        params.append(p)
    result = session.connection().execute(stmt, params)
    if check_version and result.rowcount != len(params):
        raise StaleTask("a task changed while it was being updated")


def insert_transitions(session: Session, records: Sequence[Transition]) -> None:
    if records:
        session.execute(insert(store.transitions), [store.transition_row(r) for r in records])


def transitions_of(session: Session, task_id: uuid.UUID) -> list[dict[str, Any]]:
    t = store.transitions
    rows = session.execute(select(t).where(t.c.task_id == str(task_id)).order_by(t.c.version))
    return [dict(r._mapping) for r in rows]


def open_loads(session: Session, user_ids: Iterable[str]) -> dict[str, int]:
    """Open (non-terminal) tasks per assignee, for the given users."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    t = store.tasks
    out: dict[str, int] = {}
    for part in chunks(ids):
        rows = session.execute(
            select(t.c.assignee, func.count()).where(t.c.assignee.in_(part), t.c.status.in_(NON_TERMINAL))
            .group_by(t.c.assignee))
        out.update({a: n for a, n in rows})
    return out


# ---------------------------------------------------------------------- member facts

@dataclass
class MemberFacts:
    """What outreach knows about one member besides her tasks."""

    member_id: str
    profile: MemberProfile | None = None
    roster_stamp: tuple[datetime, datetime] | None = None  # (occurred_at, recorded_at) of the stored snapshot
    diagnoses: set[str] = field(default_factory=set)
    gaps: dict[str, dict[str, Any]] = field(default_factory=dict)  # gap_key → member_gaps row
    encounters: dict[str, dict[str, Any]] = field(default_factory=dict)  # encounter_id → encounters row
    risk_history: tuple[tuple[date, str], ...] = ()  # computed tiers from risk.tiers (risk_tiers.py)

    def open_gap_count(self) -> int:
        return sum(1 for g in self.gaps.values() if g["status"] == "open")


def profile_from_row(m: Any) -> MemberProfile:
    return MemberProfile(
        member_id=m["member_id"], practice_id=m["practice_id"], contract_id=m["contract_id"], pod=m["pod"],
        risk_tier=m["risk_tier"], status=m["status"],
        eligibility=tuple((date.fromisoformat(s), date.fromisoformat(e) if e else None)
                          for s, e in (m["eligibility"] or ())),
    )


def load_facts(session: Session, member_ids: Iterable[str], *, gaps: bool = True,
               encounters: bool = True, diagnoses: bool = True) -> dict[str, MemberFacts]:
    ids = sorted(set(member_ids))
    out = {m: MemberFacts(m) for m in ids}
    for part in chunks(ids):
        p = store.member_profiles
        for row in session.execute(select(p).where(p.c.member_id.in_(part))):
            m = row._mapping
            f = out[m["member_id"]]
            f.profile = profile_from_row(m)
            f.roster_stamp = (m["roster_occurred_at"], m["roster_recorded_at"])
        if diagnoses:
            d = store.member_diagnoses
            for member_id, code in session.execute(select(d.c.member_id, d.c.code).where(d.c.member_id.in_(part))):
                out[member_id].diagnoses.add(code)
        if gaps:
            g = store.member_gaps
            for row in session.execute(select(g).where(g.c.member_id.in_(part))):
                out[row.member_id].gaps[row.gap_key] = dict(row._mapping)
        if encounters:
            e = store.encounters
            for row in session.execute(select(e).where(e.c.member_id.in_(part))):
                out[row.member_id].encounters[row.encounter_id] = dict(row._mapping)
    for member_id, history in risk_tiers.load(session, ids).items():
        out[member_id].risk_history = history
    return out


def priority_context(facts: MemberFacts, tasks: Iterable[Task], tz: tzinfo) -> PriorityContext:
    """Risk tier from the roster (or the computed tier in force, from risk.tiers), open gaps from gaps.events, the last discharge and readmission
    from care.transitions (and from the member's TCM tasks, whichever is later)."""
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
        risk_tier=risk_tiers.tier_on(facts.risk_history, utcnow().astimezone(tz).date(), roster_tier)
        if facts.risk_history else roster_tier,
        open_gaps=max(facts.open_gap_count(), open_gap_tasks),
        last_discharge=max(discharges, default=None),
        last_readmission=max(readmits, default=None),
    )
