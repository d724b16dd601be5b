"""Use cases of the worker: one function per platform event (the ``routes.py`` table maps each
(topic, event type) here), ``use_case(event, batch)``: each updates the projections through the
batch's unit of work and hands the batch (``batch.IntakeBatch``) the notifications the event
owes; the batch fans them out to the subscriptions that want them when it ends. And
``apply_batch``, the same table run over a unit of work outside the consumer (tests, seeding),
and ``sweep_overdue``, the timer's use case."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, tzinfo

from shared.events import (
    AdtEventV1, AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1, Event,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, TaskLifecycleV1,
)
from shared.routing import Routes

from ..domain import mapping, overdue
from .batch import IntakeBatch, fan_out, prefetch, wants_hl7
from .ports import IntakeUnit

log = logging.getLogger(__name__)

__all__ = ["IntakeBatch", "apply_batch", "fan_out", "prefetch", "sweep_overdue", "wants_hl7"]


# ---------------------------------------------------------------------- members.roster
def roster_changed(e: MemberRosterV1, batch: IntakeBatch) -> None:
    """The member's latest snapshot; and the HL7 messages held for its MRNs, now forwarded (a
    hospital's ADT can arrive before the roster names the patient: topics are not ordered)."""
    uow = batch.uow
    if not mapping.roster_applies(uow.members.get(e.member_id), e):
        return
    member = mapping.member_from_roster(e)
    uow.members.put(member)
    for held in uow.held.take(member.mrns):
        batch.owe(mapping.on_adt(held, member))


# ---------------------------------------------------------------------- adt.events
def adt_message(e: AdtEventV1, batch: IntakeBatch) -> None:
    uow = batch.uow
    member = uow.members.by_patient(e.patient_key) if e.patient_key else None
    if member is None and e.member_id:
        member = uow.members.get(e.member_id)
    if member is None and e.patient_key and e.raw and wants_hl7(uow):
        uow.held.hold(e)  # forwarded if the roster names this patient within HOLD_UNMATCHED_H
        return
    batch.owe(mapping.on_adt(e, member))


# ---------------------------------------------------------------------- alerts.hospitalist
def alert_raised(e: AlertRaisedV1, batch: IntakeBatch) -> None:
    uow = batch.uow
    enc, notes = mapping.on_alert_raised(e, uow.members.get(e.member_id), uow.encounters.get(e.encounter_key))
    uow.encounters.put(enc, refs=[str(e.alert_id)])
    batch.owe(notes)


def alert_updated(e: AlertUpdatedV1, batch: IntakeBatch) -> None:
    uow = batch.uow
    enc, notes = mapping.on_alert_updated(e, uow.members.get(e.member_id), uow.encounters.by_ref(str(e.alert_id)))
    if enc is not None:
        uow.encounters.put(enc)
    batch.owe(notes)


def alert_retracted(e: AlertRetractedV1, batch: IntakeBatch) -> None:
    uow = batch.uow
    enc, notes = mapping.on_alert_retracted(e, uow.members.get(e.member_id), uow.encounters.by_ref(str(e.alert_id)))
    if enc is not None:
        uow.encounters.put(enc)
    batch.owe(notes)


# ---------------------------------------------------------------------- care.transitions
def discharged(e: CareTransitionV1, batch: IntakeBatch) -> None:
    uow = batch.uow
    enc, notes = mapping.on_transition(e, uow.members.get(e.member_id), uow.encounters.get(e.encounter_key))
    uow.encounters.put(enc, refs=[str(e.transition_id)])
    batch.owe(notes)


def discharge_cancelled(e: CareTransitionCancelledV1, batch: IntakeBatch) -> None:
    uow = batch.uow
    enc, notes = mapping.on_transition_cancelled(e, uow.members.get(e.member_id),
                                                 uow.encounters.by_ref(str(e.transition_id)))
    if enc is not None:
        uow.encounters.put(enc)
    batch.owe(notes)


def ignored(_e: Event, _batch: IntakeBatch) -> None:
    """Events on a consumed topic that owe no notification (readmission flags, ...)."""


# ---------------------------------------------------------------------- gaps.events
def gap_changed(e: GapOpenedV1 | GapClosedV1 | GapExcludedV1, batch: IntakeBatch) -> None:
    gap, notes = mapping.on_gap(e, batch.uow.members.get(e.member_id))
    batch.uow.gaps.put(gap)
    batch.owe(notes)


# ---------------------------------------------------------------------- outreach.tasks
def task_changed(e: TaskLifecycleV1, batch: IntakeBatch) -> None:
    task = mapping.on_task(e, batch.uow.tasks.get(str(e.task_id)))
    if task is not None:
        batch.uow.tasks.put(task)


# ---------------------------------------------------------------------- outside the consumer
def apply_batch(uow: IntakeUnit, events: Sequence[Event], routes: Routes, now: datetime | None = None) -> int:
    """Run a batch of (new) events through the routes table as the worker's consumer does
    (``Routes.handler``: begin, each event to its route's use case, finish — which fans out and
    flushes the unit of work); returns the deliveries created. An event with no route raises
    ``InvalidEvent`` (the consumer dead-letters it with the reason)."""
    batch: list[IntakeBatch] = []

    def begin(u: IntakeUnit, evs: Sequence[Event]) -> IntakeBatch:
        batch.append(IntakeBatch(u, evs, now))
        return batch[0]

    routes.handler(lambda u: u, begin)(uow, list(events))
    return batch[0].created


def sweep_overdue(uow: IntakeUnit, tz: tzinfo, now: datetime, limit: int = 500) -> int:
    """Overdue tasks not yet notified for their due date -> ``task-overdue`` notifications."""
    today = now.astimezone(tz).date()
    candidates = uow.tasks.overdue_candidates(today, limit)
    if not candidates:
        return 0
    uow.members.load({c.member_id for c in candidates}, ())
    notes = []
    for task in candidates:
        if overdue.needs_notice(task, today):
            notes.append(overdue.overdue_notification(task, uow.members.get(task.member_id), tz, now))
            uow.tasks.mark_notified(task.task_id, task.due_date)  # type: ignore[arg-type]
    fan_out(uow, notes, now)
    return len(notes)
