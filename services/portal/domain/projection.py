"""How each event changes what the portal keeps: pure decisions on the stored value and the event.

Event time decides, never arrival: a roster snapshot, a gap status or a task status older
than the stored one is ignored (late, out-of-order and replayed events converge to the same
state). Encounters are assembled from two sources that can arrive in any order: the alert on
admission or ED registration (``alerts.hospitalist``) and the discharge (``care.transitions``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from shared.events import (
    AlertRaisedV1, CareTransitionV1, GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, TaskLifecycleV1,
)

from .model import CareTask, Encounter, Gap, Member


def newer(stored_at: datetime | None, incoming_at: datetime) -> bool:
    """Whether an event at ``incoming_at`` replaces a value recorded at ``stored_at`` (ties: the later arrival)."""
    return stored_at is None or incoming_at >= stored_at


def member_from_roster(stored: Member | None, ev: MemberRosterV1) -> Member | None:
    """The snapshot to keep, or None when the stored one is newer."""
    if stored is not None and not newer(stored.as_of, ev.occurred_at):
        return None
    ends = [s.end for s in ev.eligibility]
    end = None if not ends or any(e is None for e in ends) else max(e for e in ends if e is not None)
    return Member(ev.member_id, ev.given_name, ev.family_name, ev.birth_date, ev.sex, ev.pcp_practice_id,
                  ev.pcp_npi, ev.pod, ev.contract_id, ev.program, ev.status, end, ev.occurred_at)


def gap_from_event(stored: Gap | None, ev: GapOpenedV1 | GapClosedV1 | GapExcludedV1) -> Gap | None:
    if stored is not None and not newer(stored.occurred_at, ev.occurred_at):
        return None
    due = ev.due_date
    if isinstance(ev, GapClosedV1):
        due = ev.lapses_on
    return Gap(ev.gap_key, ev.member_id, ev.measure_id, ev.status, ev.reason, due, ev.period_end, ev.occurred_at)


def task_from_event(stored: CareTask | None, ev: TaskLifecycleV1) -> CareTask | None:
    if stored is not None and not newer(stored.occurred_at, ev.occurred_at):
        return None
    appointment = ev.appointment_date if ev.to_status == "scheduled" else (
        stored.appointment_date if stored is not None and ev.to_status == "done" else None)
    return CareTask(ev.task_id, ev.member_id, ev.kind, ev.reason_key, ev.role, ev.to_status, ev.due_date,
                    appointment, ev.assignee, ev.occurred_at)


def _setting(patient_class: str | None, kind: str | None = None) -> str:
    if kind == "ed_visit" or (patient_class or "").upper() == "E":
        return "emergency"
    return "inpatient"


def encounter_on_alert(stored: Encounter | None, ev: AlertRaisedV1) -> Encounter:
    """An admission or ED registration. A discharge that arrived first keeps the stay finished."""
    if stored is None:
        return Encounter(ev.member_id, ev.encounter_key, _setting(ev.patient_class, ev.kind), ev.facility,
                         ev.event_time, None, "in_progress", ev.alert_id, None, ev.occurred_at)
    status = stored.status if stored.status == "finished" else "in_progress"
    return replace(stored, setting=_setting(ev.patient_class, ev.kind), started_at=stored.started_at or ev.event_time,
                   alert_id=ev.alert_id, status=status, updated_at=max(stored.updated_at, ev.occurred_at))


def encounter_on_retraction(stored: Encounter | None, alert_id: uuid.UUID, at: datetime) -> Encounter | None:
    """A cancelled admission (A11) or a merge that folded the visit away: the member no longer sees it."""
    if stored is None or stored.alert_id != alert_id:
        return None
    return replace(stored, status="cancelled", updated_at=max(stored.updated_at, at))


def encounter_on_discharge(stored: Encounter | None, ev: CareTransitionV1) -> Encounter:
    if stored is None:
        return Encounter(ev.member_id, ev.encounter_key, _setting(ev.patient_class), ev.facility, ev.admit_time,
                         ev.discharge_time, "finished", None, ev.transition_id, ev.occurred_at)
    return replace(stored, started_at=stored.started_at or ev.admit_time, ended_at=ev.discharge_time,
                   status="finished", transition_id=ev.transition_id,
                   updated_at=max(stored.updated_at, ev.occurred_at))


def encounter_on_discharge_cancelled(stored: Encounter | None, transition_id: uuid.UUID,
                                     at: datetime) -> Encounter | None:
    """A13: the discharge is withdrawn; the stay goes on (or, without an admission on file, disappears)."""
    if stored is None or stored.transition_id != transition_id:
        return None
    if stored.alert_id is None:
        return replace(stored, status="cancelled", transition_id=None, updated_at=max(stored.updated_at, at))
    return replace(stored, ended_at=None, status="in_progress", transition_id=None,
                   updated_at=max(stored.updated_at, at))
