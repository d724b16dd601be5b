"""Use cases of the worker: each event the portal consumes updates the member's projection.

One function per (topic, event type), called by the routes table (``routes.py``) as
``use_case(event, batch)``; ``ProjectionBatch`` is the batch's working set over the unit of work
the consumer pipeline's transaction runs in (the pipeline owns the transaction and the
processed-events dedupe; these functions never commit). ``ProjectionBatch.finish`` counts the
batch's events once the transaction committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from shared.errors import InvalidEvent
from shared.events import (
    AlertRaisedV1, AlertRetractedV1, CareTeamReplyV1, CareTransitionCancelledV1, CareTransitionV1, Event,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, PortalMessageSentV1, TaskLifecycleV1,
)

from .. import metrics
from ..domain import projection as rules
from ..domain.model import Message, Reply
from .ports import UnitOfWork


class ProjectionBatch:
    """One batch of consumed events over the consumer's unit of work."""

    def __init__(self, uow: UnitOfWork, events: Sequence[Event]) -> None:
        self.uow = uow
        self._applied = Counter(e.event_type for e in events)

    @classmethod
    def begin(cls, uow: UnitOfWork, events: Sequence[Event]) -> ProjectionBatch:
        """``begin(uow, events)`` of the routes table."""
        return cls(uow, events)

    def finish(self) -> list[Event]:
        """Nothing to publish; every event of the batch (skipped ones too) counted after the commit."""
        applied = dict(self._applied)

        def count() -> None:
            for event_type, n in applied.items():
                metrics.PROJECTION_EVENTS.labels(event_type).inc(n)
            if applied.get("portal.reply_sent"):
                metrics.REPLIES_RECEIVED.inc(applied["portal.reply_sent"])

        self.uow.after_commit(count)
        return []


def on_roster(ev: MemberRosterV1, batch: ProjectionBatch) -> None:
    uow = batch.uow
    kept = rules.member_from_roster(uow.members.get(ev.member_id), ev)
    if kept is not None:
        uow.members.put(kept)


def on_alert_raised(ev: AlertRaisedV1, batch: ProjectionBatch) -> None:
    uow = batch.uow
    uow.encounters.put(rules.encounter_on_alert(uow.encounters.get(ev.member_id, ev.encounter_key), ev))


def on_alert_retracted(ev: AlertRetractedV1, batch: ProjectionBatch) -> None:
    uow = batch.uow
    changed = rules.encounter_on_retraction(uow.encounters.by_alert(ev.member_id, ev.alert_id), ev.alert_id,
                                            ev.occurred_at)
    if changed is not None:
        uow.encounters.put(changed)


def on_discharge(ev: CareTransitionV1, batch: ProjectionBatch) -> None:
    uow = batch.uow
    uow.encounters.put(rules.encounter_on_discharge(uow.encounters.get(ev.member_id, ev.encounter_key), ev))


def on_discharge_cancelled(ev: CareTransitionCancelledV1, batch: ProjectionBatch) -> None:
    uow = batch.uow
    changed = rules.encounter_on_discharge_cancelled(
        uow.encounters.by_transition(ev.member_id, ev.transition_id), ev.transition_id, ev.occurred_at)
    if changed is not None:
        uow.encounters.put(changed)


def on_gap(ev: GapOpenedV1 | GapClosedV1 | GapExcludedV1, batch: ProjectionBatch) -> None:
    uow = batch.uow
    kept = rules.gap_from_event(uow.gaps.get(ev.gap_key), ev)
    if kept is not None:
        uow.gaps.put(kept)


def on_task(ev: TaskLifecycleV1, batch: ProjectionBatch) -> None:
    uow = batch.uow
    kept = rules.task_from_event(uow.tasks.get(ev.task_id), ev)
    if kept is not None:
        uow.tasks.put(kept)


def on_message(ev: PortalMessageSentV1, batch: ProjectionBatch) -> None:
    """The portal API stored the message already; a rebuild from the topic stores it here."""
    batch.uow.messages.add(Message(ev.message_id, ev.member_id, ev.topic, ev.subject, ev.body, ev.occurred_at,
                                   ev.in_reply_to, ev.signed_in_via))


def on_reply(ev: CareTeamReplyV1, batch: ProjectionBatch) -> None:
    """A care-team answer. One naming a message of another member is refused (dead-lettered)."""
    uow = batch.uow
    message = uow.messages.get(ev.message_id)
    if message is not None and message.member_id != ev.member_id:
        raise InvalidEvent("portal.reply_sent: message_id names a message of another member")
    uow.replies.add(Reply(ev.reply_id, ev.member_id, ev.message_id, ev.task_id, ev.body, ev.author_name,
                          ev.author_role, ev.occurred_at))


def skip(ev: Event, batch: ProjectionBatch) -> None:
    """Consumed on purpose, of no use to the member's pages (an alert's update, a readmission): the
    event is accepted — not dead-lettered — and changes nothing."""
