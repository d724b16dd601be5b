"""The working set of one consumed batch (``shared.routing``'s ``begin(uow, events)``).

``IntakeBatch`` prefetches what the batch's events need in a few reads, collects the
notifications the use cases (``intake.py``) say are owed, and at the end (``finish``) fans them
out to the subscriptions that want them (one delivery per subscription, numbered) and writes the
projections — all in the batch's transaction, with its ``processed_events`` rows. It derives no
platform events: notifications leave by the dispatcher, not by Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from shared.events import (
    AdtEventV1, AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1, Event,
    MemberRosterV1, TaskLifecycleV1,
)

from ..domain import topics as t
from ..domain.model import Notification
from .ports import IntakeUnit


class IntakeBatch:
    def __init__(self, uow: IntakeUnit, events: Sequence[Event], now: datetime | None = None) -> None:
        self.uow = uow
        self.now = now  # None: the time the batch ends (the deliveries' created_at)
        self.notes: list[Notification] = []
        self.created = 0  # deliveries created by ``finish``
        prefetch(uow, events)

    @classmethod
    def starter(cls, now: datetime | None = None) -> Callable[[IntakeUnit, Sequence[Event]], IntakeBatch]:
        def begin(uow: IntakeUnit, events: Sequence[Event]) -> IntakeBatch:
            return cls(uow, events, now)

        return begin

    def owe(self, notes: Sequence[Notification]) -> None:
        self.notes.extend(notes)

    def finish(self) -> list[Event]:
        self.created = fan_out(self.uow, self.notes, self.now or datetime.now(timezone.utc))
        self.uow.flush()
        return []


def wants_hl7(uow: IntakeUnit) -> bool:
    """Whether any subscription takes the HL7 feed (else nothing is worth holding)."""
    return any(t.ADT_FEED in s.topics for s in uow.outbox.subscriptions())


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


def fan_out(uow: IntakeUnit, notes: Sequence[Notification], now: datetime) -> int:
    if not notes:
        return 0
    subs = uow.outbox.subscriptions()
    owed = [(n, [s for s in subs if s.wants(n, now)]) for n in notes]
    owed = [(n, targets) for n, targets in owed if targets]
    return uow.outbox.append(owed) if owed else 0
