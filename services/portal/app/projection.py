"""Use cases of the worker: each event the portal consumes updates the member's projection.

One function per event type, over the unit of work the batch runs in (the shared consumer
owns the transaction and the processed-events dedupe; these functions never commit).
"""

from __future__ import annotations

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, CareTeamReplyV1, CareTransitionCancelledV1, CareTransitionV1, GapClosedV1,
    GapExcludedV1, GapOpenedV1, MemberRosterV1, PortalMessageSentV1, TaskLifecycleV1,
)

from shared.errors import InvalidEvent

from ..domain import projection as rules
from ..domain.model import Message, Reply
from .ports import UnitOfWork


def on_roster(uow: UnitOfWork, ev: MemberRosterV1) -> None:
    kept = rules.member_from_roster(uow.members.get(ev.member_id), ev)
    if kept is not None:
        uow.members.put(kept)


def on_alert_raised(uow: UnitOfWork, ev: AlertRaisedV1) -> None:
    uow.encounters.put(rules.encounter_on_alert(uow.encounters.get(ev.member_id, ev.encounter_key), ev))


def on_alert_retracted(uow: UnitOfWork, ev: AlertRetractedV1) -> None:
    changed = rules.encounter_on_retraction(uow.encounters.by_alert(ev.member_id, ev.alert_id), ev.alert_id,
                                            ev.occurred_at)
    if changed is not None:
        uow.encounters.put(changed)


def on_discharge(uow: UnitOfWork, ev: CareTransitionV1) -> None:
    uow.encounters.put(rules.encounter_on_discharge(uow.encounters.get(ev.member_id, ev.encounter_key), ev))


def on_discharge_cancelled(uow: UnitOfWork, ev: CareTransitionCancelledV1) -> None:
    changed = rules.encounter_on_discharge_cancelled(
        uow.encounters.by_transition(ev.member_id, ev.transition_id), ev.transition_id, ev.occurred_at)
    if changed is not None:
        uow.encounters.put(changed)


def on_gap(uow: UnitOfWork, ev: GapOpenedV1 | GapClosedV1 | GapExcludedV1) -> None:
    kept = rules.gap_from_event(uow.gaps.get(ev.gap_key), ev)
    if kept is not None:
        uow.gaps.put(kept)


def on_task(uow: UnitOfWork, ev: TaskLifecycleV1) -> None:
    kept = rules.task_from_event(uow.tasks.get(ev.task_id), ev)
    if kept is not None:
        uow.tasks.put(kept)


def on_message(uow: UnitOfWork, ev: PortalMessageSentV1) -> None:
    """The portal API stored the message already; a rebuild from the topic stores it here."""
    uow.messages.add(Message(ev.message_id, ev.member_id, ev.topic, ev.subject, ev.body, ev.occurred_at,
                             ev.in_reply_to, ev.signed_in_via))


def on_reply(uow: UnitOfWork, ev: CareTeamReplyV1) -> None:
    """A care-team answer. One naming a message of another member is refused (dead-lettered)."""
    message = uow.messages.get(ev.message_id)
    if message is not None and message.member_id != ev.member_id:
        raise InvalidEvent("portal.reply_sent: message_id names a message of another member")
    uow.replies.add(Reply(ev.reply_id, ev.member_id, ev.message_id, ev.task_id, ev.body, ev.author_name,
                          ev.author_role, ev.occurred_at))
