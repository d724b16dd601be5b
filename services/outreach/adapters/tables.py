"""Outreach tables (one MetaData) and the task row ↔ domain ``Task`` mapping.

- ``tasks``: one row per task. ``open_key`` holds the task key while the task is open and is
  NULL once it is finished: a unique index on it keeps one open task per (member, measure),
  (member, discharge) and (member, referral rule) even under concurrent writers.
  ``version`` is the optimistic-concurrency column: every update is ``… WHERE version = :read``.
- ``task_transitions``: every change (who, when, from, to, note), keyed (task_id, version).
- ``member_profiles``: the latest roster snapshot per member (pod, practice, risk tier,
  eligibility, contract; name and birth date for the nurse page only).
- ``member_diagnoses``: ICD-10 codes that the referral rules look at, per member.
- ``member_gaps``: each gap's latest status from gaps.events (open gaps per member).
- ``encounters``: discharges and readmissions from care.transitions ("recent encounters").
- ``member_risk_tiers``: each member's latest computed tier history from risk.tiers.
- ``member_risk_changes``: the latest tier change's explanation from risk.tiers (old -> new, the
  HCCs, utilization, reasons and rule): the task page's risk view when the risk API is down.
- ``maintenance_runs``: which daily job ran for which day (the worker's timer).
- ``revoked_sessions``: page sessions ended by logging out.
- ``processed_events`` and ``audit_log`` from ``shared``.

Free text goes to ``Text`` columns: an over-long value must never turn into a database error
(the consumer would take it for a transient failure and retry forever).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON, Boolean, Column, Date, Float, Index, Integer, MetaData, String, Table, Text,
)

from shared.audit import audit_table
from shared.db import UtcDateTime, processed_events_table
from shared.events import Evidence
from shared.web.revocations import revoked_sessions_table

from ..domain import Attempt, MemberProfile, Task, Transition
from ..domain.model import TERMINAL

metadata = MetaData()


processed = processed_events_table(metadata)
audit = audit_table(metadata)

tasks = Table(
    "tasks", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("task_key", Text, nullable=False),
    Column("open_key", Text, nullable=True),
    Column("member_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason_key", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("pod", String(64), nullable=False),
    Column("queue", String(100), nullable=False),
    Column("practice_id", String(64)),
    Column("contract_id", String(64)),
    Column("title", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cause_event_id", String(36), nullable=False),
    Column("due_date", Date),
    Column("evidence", JSON, nullable=False),
    Column("source_ref", Text),
    Column("anchor_date", Date),
    Column("visit_due_high", Date),
    Column("visit_due_moderate", Date),
    Column("status", String(20), nullable=False),
    Column("assignee", String(64)),
    Column("priority", Float, nullable=False),
    Column("attempts", JSON, nullable=False),
    Column("appointment_date", Date),
    Column("outcome", Text),
    Column("readmitted_on", Date),
    Column("readmission_ref", String(100)),
    Column("event_ids", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Index("ux_tasks_open_key", "open_key", unique=True),
    Index("ix_tasks_member", "member_id"),
    Index("ix_tasks_queue_status", "queue", "status", "priority"),
    Index("ix_tasks_assignee_status", "assignee", "status"),
    Index("ix_tasks_status_due", "status", "due_date"),
)

transitions = Table(
    "task_transitions", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("note", Text),
    Column("assignee", String(64)),
    Column("channel", String(16)),
    Column("outcome", Text),
    Column("appointment_date", Date),
    Column("cause_event_id", String(36)),
)

member_profiles = Table(
    "member_profiles", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("pod", String(64)),
    Column("risk_tier", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("eligibility", JSON, nullable=False),
    Column("given_name", String(100)),
    Column("family_name", String(100)),
    Column("birth_date", Date),
    Column("roster_event_id", String(36), nullable=False),
    Column("roster_occurred_at", UtcDateTime, nullable=False),
    Column("roster_recorded_at", UtcDateTime, nullable=False),
)

member_diagnoses = Table(
    "member_diagnoses", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("code", String(16), primary_key=True),
)

member_gaps = Table(
    "member_gaps", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("gap_key", Text, primary_key=True),
    Column("measure_id", String(16), nullable=False),
    Column("measure_version", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("due_date", Date),
    Column("evidence", JSON, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("event_id", String(36), nullable=False),
)

encounters = Table(
    "encounters", metadata,
    Column("encounter_id", String(36), primary_key=True),  # transition id or readmission id
    Column("member_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # discharge | readmission
    Column("facility", Text),
    Column("patient_class", Text),
    Column("admit_at", UtcDateTime),
    Column("discharge_at", UtcDateTime),
    Column("admit_date", Date),
    Column("disposition", Text),
    Column("length_of_stay_days", Integer),
    Column("diagnoses", JSON, nullable=False),
    Column("readmission", Boolean, nullable=False),
    Column("status", String(16), nullable=False),  # active | cancelled | retracted
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Index("ix_encounters_member", "member_id"),
)

maintenance_runs = Table(
    "maintenance_runs", metadata,
    Column("job", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("detail", Text),
)

member_risk_tiers = Table(
    "member_risk_tiers", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("decided_on", String(10), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("history", JSON, nullable=False),
)

member_risk_changes = Table(
    "member_risk_changes", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("decided_on", String(10), nullable=False),
    Column("change", JSON, nullable=False),
)

revoked_sessions = revoked_sessions_table(metadata)  # the nurse page's logouts (shared.web)


# ---------------------------------------------------------------------- task rows

def _evidence_json(ev: Evidence) -> dict[str, Any]:
    return {"code": ev.code, "code_system": ev.code_system, "date": ev.date.isoformat(), "claim_id": ev.claim_id,
            "value": ev.value, "description": ev.description}


def _evidence_from(d: dict[str, Any]) -> Evidence:
    # Rows this service wrote (validated then); constructed without validating again, so a row
    # stored before a limit of the contract existed still loads.
    return Evidence.model_construct(code=d["code"], code_system=d["code_system"], date=date.fromisoformat(d["date"]),
                                    claim_id=d.get("claim_id"), value=d.get("value"),
                                    description=d.get("description"))


def _attempt_json(a: Attempt) -> dict[str, Any]:
    return {"number": a.number, "at": a.at.isoformat(), "actor": a.actor, "channel": a.channel,
            "outcome": a.outcome, "note": a.note}


def _attempt_from(d: dict[str, Any]) -> Attempt:
    return Attempt(d["number"], datetime.fromisoformat(d["at"]), d["actor"], d["channel"], d["outcome"], d.get("note"))


def open_key(task: Task) -> str | None:
    return None if task.status in TERMINAL else task.key


def task_row(task: Task) -> dict[str, Any]:
    return {
        "task_id": str(task.task_id), "task_key": task.key, "open_key": open_key(task), "member_id": task.member_id,
        "kind": task.kind, "reason_key": task.reason_key, "role": task.role, "pod": task.pod, "queue": task.queue,
        "practice_id": task.practice_id, "contract_id": task.contract_id, "title": task.title, "reason": task.reason,
        "created_at": task.created_at, "cause_event_id": str(task.cause_event_id), "due_date": task.due_date,
        "evidence": [_evidence_json(e) for e in task.evidence], "source_ref": task.source_ref,
        "anchor_date": task.anchor_date, "visit_due_high": task.visit_due_high,
        "visit_due_moderate": task.visit_due_moderate, "status": task.status, "assignee": task.assignee,
        "priority": float(task.priority), "attempts": [_attempt_json(a) for a in task.attempts],
        "appointment_date": task.appointment_date, "outcome": task.outcome, "readmitted_on": task.readmitted_on,
        "readmission_ref": task.readmission_ref, "event_ids": [str(e) for e in task.event_ids],
        "version": task.version, "updated_at": task.updated_at, "closed_at": task.closed_at,
    }


def task_from_row(row: Any) -> Task:
    m = row._mapping if hasattr(row, "_mapping") else row
    return Task(
        task_id=uuid.UUID(m["task_id"]), key=m["task_key"], member_id=m["member_id"], kind=m["kind"],
        reason_key=m["reason_key"], role=m["role"], pod=m["pod"], practice_id=m["practice_id"],
        contract_id=m["contract_id"], title=m["title"], reason=m["reason"], created_at=m["created_at"],
        cause_event_id=uuid.UUID(m["cause_event_id"]), due_date=m["due_date"],
        evidence=tuple(_evidence_from(e) for e in m["evidence"] or ()), source_ref=m["source_ref"],
        anchor_date=m["anchor_date"], visit_due_high=m["visit_due_high"],
        visit_due_moderate=m["visit_due_moderate"], status=m["status"], assignee=m["assignee"],
        priority=float(m["priority"]), attempts=tuple(_attempt_from(a) for a in m["attempts"] or ()),
        appointment_date=m["appointment_date"], outcome=m["outcome"], readmitted_on=m["readmitted_on"],
        readmission_ref=m["readmission_ref"], event_ids=tuple(uuid.UUID(e) for e in m["event_ids"] or ()),
        version=m["version"], updated_at=m["updated_at"], closed_at=m["closed_at"],
    )


def transition_row(t: Transition) -> dict[str, Any]:
    return {
        "task_id": str(t.task_id), "version": t.version, "at": t.at, "actor": t.actor, "from_status": t.from_status,
        "to_status": t.to_status, "note": t.note, "assignee": t.assignee, "channel": t.channel,
        "outcome": t.outcome, "appointment_date": t.appointment_date,
        "cause_event_id": str(t.cause_event_id) if t.cause_event_id else None,
    }


def all_tables() -> list[Table]:
    return list(metadata.sorted_tables)


def profile_from_row(m: Any) -> MemberProfile:
    return MemberProfile(
        member_id=m["member_id"], practice_id=m["practice_id"], contract_id=m["contract_id"], pod=m["pod"],
        risk_tier=m["risk_tier"], status=m["status"],
        eligibility=tuple((date.fromisoformat(s), date.fromisoformat(e) if e else None)
                          for s, e in (m["eligibility"] or ())),
    )
