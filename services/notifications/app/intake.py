"""Use cases of the worker: one function per platform event (the ``routes.py`` table names
them), each updating the projections and returning the notifications the event owes; and
``apply_batch``, which prefetches what a batch needs, runs the routes and fans the
notifications out to the subscriptions that want them (``Outbox.append``: one delivery per
subscription, numbered, in the same transaction as the batch's ``processed_events`` rows)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone, tzinfo

from shared.events import (
    AdtEventV1, AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1, Event,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, TaskLifecycleV1,
)

from shared.errors import InvalidEvent

from ..domain import mapping, overdue
from ..domain import topics as t
from ..domain.model import Notification
from .ports import IntakeUnit

log = logging.getLogger(__name__)
UseCase = Callable[[IntakeUnit, Event], list[Notification]]


def roster_changed(uow: IntakeUnit, e: MemberRosterV1) -> list[Notification]:
    """The member's latest snapshot; and the HL7 messages held for its MRNs, now forwarded (a
    hospital's ADT can arrive before the roster names the patient: topics are not ordered)."""
    if not mapping.roster_applies(uow.members.get(e.member_id), e):
        return []
    member = mapping.member_from_roster(e)
    uow.members.put(member)
    notes: list[Notification] = []
    for held in uow.held.take(member.mrns):
        notes.extend(mapping.on_adt(held, member))
    return notes


def alert_raised(uow: IntakeUnit, e: AlertRaisedV1) -> list[Notification]:
    enc, notes = mapping.on_alert_raised(e, uow.members.get(e.member_id), uow.encounters.get(e.encounter_key))
    uow.encounters.put(enc, refs=[str(e.alert_id)])
    return notes


def alert_updated(uow: IntakeUnit, e: AlertUpdatedV1) -> list[Notification]:
    enc, notes = mapping.on_alert_updated(e, uow.members.get(e.member_id), uow.encounters.by_ref(str(e.alert_id)))
    if enc is not None:
        uow.encounters.put(enc)
    return notes


def alert_retracted(uow: IntakeUnit, e: AlertRetractedV1) -> list[Notification]:
    enc, notes = mapping.on_alert_retracted(e, uow.members.get(e.member_id), uow.encounters.by_ref(str(e.alert_id)))
    if enc is not None:
        uow.encounters.put(enc)
    return notes


def discharged(uow: IntakeUnit, e: CareTransitionV1) -> list[Notification]:
    enc, notes = mapping.on_transition(e, uow.members.get(e.member_id), uow.encounters.get(e.encounter_key))
    uow.encounters.put(enc, refs=[str(e.transition_id)])
    return notes


def discharge_cancelled(uow: IntakeUnit, e: CareTransitionCancelledV1) -> list[Notification]:
    enc, notes = mapping.on_transition_cancelled(e, uow.members.get(e.member_id),
                                                 uow.encounters.by_ref(str(e.transition_id)))
    if enc is not None:
        uow.encounters.put(enc)
    return notes


def gap_changed(uow: IntakeUnit, e: GapOpenedV1 | GapClosedV1 | GapExcludedV1) -> list[Notification]:
    gap, notes = mapping.on_gap(e, uow.members.get(e.member_id))
    uow.gaps.put(gap)
    return notes


def task_changed(uow: IntakeUnit, e: TaskLifecycleV1) -> list[Notification]:
    task = mapping.on_task(e, uow.tasks.get(str(e.task_id)))
    if task is not None:
        uow.tasks.put(task)
    return []


def adt_message(uow: IntakeUnit, e: AdtEventV1) -> list[Notification]:
    member = uow.members.by_patient(e.patient_key) if e.patient_key else None
    if member is None and e.member_id:
        member = uow.members.get(e.member_id)
    if member is None and e.patient_key and e.raw and wants_hl7(uow):
        uow.held.hold(e)  # forwarded if the roster names this patient within HOLD_UNMATCHED_H
        return []
    return mapping.on_adt(e, member)


def wants_hl7(uow: IntakeUnit) -> bool:
    """Whether any subscription takes the HL7 feed (else nothing is worth holding)."""
    return any(t.ADT_FEED in s.topics for s in uow.outbox.subscriptions())


def ignored(_uow: IntakeUnit, _e: Event) -> list[Notification]:
    """Events on a consumed topic that owe no notification (readmission flags, ...)."""
    return []


def prefetch(uow: IntakeUnit, events: Sequence[Event]) -> None:
    members: set[str] = set()
    patients: set[str] = set()
    keys: set[str] = set()
    refs: set[str] = set()
    tasks: set[str] = set()
    for e in events:
        if e.member_id:
            members.add(e.member_id)
        if isinstance(e, AdtEventV1) and e.patient_key:
            patients.add(e.patient_key)
        if isinstance(e, (AlertRaisedV1, CareTransitionV1)):
            keys.add(e.encounter_key)
        if isinstance(e, (AlertRaisedV1, AlertUpdatedV1, AlertRetractedV1)):
            refs.add(str(e.alert_id))
        if isinstance(e, (CareTransitionV1, CareTransitionCancelledV1)):
            refs.add(str(e.transition_id))
        if isinstance(e, TaskLifecycleV1):
            tasks.add(str(e.task_id))
    uow.members.load(members, patients)
    rosters = [e for e in events if isinstance(e, MemberRosterV1)]
    if rosters and wants_hl7(uow):  # messages held for these MRNs: one read for the batch
        uow.held.load({f"{x.assigning_authority}|{x.mrn}" for e in rosters for x in e.mrns})
    if keys or refs:
        uow.encounters.load(keys, refs)
    if tasks:
        uow.tasks.load(tasks)


def apply_batch(uow: IntakeUnit, events: Sequence[Event], routes: Mapping[tuple[str, str], UseCase],
                now: datetime | None = None) -> int:
    """Apply a batch of (new) events; returns the deliveries created."""
    prefetch(uow, events)
    notes: list[Notification] = []
    for e in events:
        use_case = routes.get((e.TOPIC, e.event_type))
        if use_case is None:  # a type the registry added after this build: dead-lettered with the reason
            raise InvalidEvent(f"notifications has no route for {e.event_type} on {e.TOPIC}")
        notes.extend(use_case(uow, e))
    return fan_out(uow, notes, now or datetime.now(timezone.utc))


def fan_out(uow: IntakeUnit, notes: Sequence[Notification], now: datetime) -> int:
    if not notes:
        return 0
    subs = uow.outbox.subscriptions()
    owed = [(n, [s for s in subs if s.wants(n, now)]) for n in notes]
    owed = [(n, targets) for n, targets in owed if targets]
    return uow.outbox.append(owed) if owed else 0


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
