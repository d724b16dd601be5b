"""Gap opened → an outreach task; gap closed → the task closes itself naming the evidence;
gap excluded → the task is cancelled with the reason. One open task per (member, measure)."""

from __future__ import annotations

from shared.events import GapClosedV1, GapExcludedV1, GapOpenedV1

from .creation import DecisionContext, can_create, create, on_roster, system_time
from .intents import CancelTask, CloseTask, Intent
from .members import MemberState, known_at, known_on, resolve_pod
from .model import Task, task_key
from .workflow import system_cancel, system_close


def gap_key(member_id: str, measure_id: str) -> str:
    return task_key(member_id, "gap", measure_id)


def on_gap_opened(event: GapOpenedV1, state: MemberState, ctx: DecisionContext) -> list[Intent]:
    key = gap_key(event.member_id, event.measure_id)
    task_id = can_create(state, key, event.event_id)
    day = known_on(event, ctx.tz)
    if task_id is None or state.already_applied(event.event_id) or not on_roster(state, day):
        return []
    rule = ctx.rules.gap_tasks[event.measure_id]
    due = ctx.calendar.add_business_days(day, rule.sla_business_days)
    if event.due_date is not None and event.due_date < due:
        due = event.due_date
    profile_pod = state.profile.pod if state.profile else None
    task = Task(
        task_id=task_id, key=key, member_id=event.member_id, kind="gap", reason_key=event.measure_id,
        role=rule.role, pod=resolve_pod(profile_pod, event.practice_id, ctx.rules),
        practice_id=event.practice_id, contract_id=event.contract_id, title=rule.title, reason=event.reason,
        created_at=known_at(event), updated_at=known_at(event), cause_event_id=event.event_id, due_date=due,
        evidence=tuple(event.evidence), source_ref=event.gap_key,
    )
    return [create(task, event)]


def closed_outcome(event: GapClosedV1) -> str:
    """"gap closed by claim CLM-0001: CPT 45378 on 2026-04-10" — the evidence a nurse can check."""
    if event.evidence:
        ev = max(event.evidence, key=lambda e: e.date)
        what = ev.describe(claim=False)
        text = f"gap closed by claim {ev.claim_id}: {what}" if ev.claim_id else f"gap closed: {what}"
    else:
        text = f"gap closed: {event.reason}"
    if event.status == "due_soon" and event.lapses_on is not None:
        text += f"; lapses on {event.lapses_on.isoformat()}"
    return text[:200]


def on_gap_closed(event: GapClosedV1, state: MemberState, ctx: DecisionContext) -> list[Intent]:
    task = state.open_task(gap_key(event.member_id, event.measure_id))
    if task is None or state.already_applied(event.event_id):
        return []
    change = system_close(task, at=system_time(event, task), outcome=closed_outcome(event),
                          cause_event_id=event.event_id)
    return [CloseTask(change.task, change.transition, task.version)]


def on_gap_excluded(event: GapExcludedV1, state: MemberState, ctx: DecisionContext) -> list[Intent]:
    task = state.open_task(gap_key(event.member_id, event.measure_id))
    if task is None or state.already_applied(event.event_id):
        return []
    label = "gap excluded" if event.status == "excluded" else "gap no longer applies"
    change = system_cancel(task, at=system_time(event, task), reason=f"{label}: {event.reason}"[:200],
                           cause_event_id=event.event_id)
    return [CancelTask(change.task, change.transition, task.version)]
