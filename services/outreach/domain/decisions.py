"""One entry point: an event and what is stored about its member → intents.

The wiring loads :class:`MemberState` (the member's tasks, roster profile, known
diagnoses), calls :func:`decide`, places new tasks (:func:`placement.place_new_task`),
writes the intents and the ``processed_events`` row in one transaction, then updates the
profile (:func:`members.profile_from_roster`) and known diagnoses
(:func:`members.diagnosis_codes`). Redelivery of an event that changed a task is a no-op
here too (tasks remember the events that changed them); the processed-events row covers
events that changed nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time

from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, Event, GapClosedV1, GapExcludedV1, GapOpenedV1,
    MemberRosterV1, PortalMessageSentV1, ReadmissionV1, derive_id,
)

from .care_tasks import on_care_transition, on_claim, on_readmission, on_transition_cancelled
from .creation import DecisionContext, system_time
from .gap_tasks import on_gap_closed, on_gap_excluded, on_gap_opened
from .intents import CancelTask, Intent, RequeueTask
from .members import MemberState, known_on, resolve_pod
from .portal_messages import on_portal_message
from .workflow import system_cancel, system_requeue

ROSTER_LEFT = "member left the roster"


def on_roster_update(event: MemberRosterV1, state: MemberState, ctx: DecisionContext,
                     as_of: date | None = None) -> list[Intent]:
    """Termed or not eligible on ``as_of`` (default: the day the snapshot was known) → cancel the
    member's open tasks. Otherwise unclaimed tasks follow the member to a new pod."""
    if state.already_applied(event.event_id):
        return []
    day = as_of or known_on(event, ctx.tz)
    intents: list[Intent] = []
    # No spans at all is "not told", not "not eligible": only spans that miss the day count.
    leaving = event.status == "termed" or (bool(event.eligibility) and not event.eligible_on(day))
    pod = resolve_pod(event.pod, event.pcp_practice_id, ctx.rules)
    for task in state.tasks:
        if not task.is_open:
            continue
        if leaving:
            reason = ROSTER_LEFT if event.status == "termed" else f"member not eligible on {day.isoformat()}"
            change = system_cancel(task, at=system_time(event, task), reason=reason, cause_event_id=event.event_id)
            intents.append(CancelTask(change.task, change.transition, task.version))
        elif task.status == "open" and task.pod != pod:
            change = system_requeue(task, pod=pod, at=system_time(event, task), cause_event_id=event.event_id)
            intents.append(RequeueTask(change.task, change.transition, task.version))
    return intents


def on_eligibility_check(state: MemberState, ctx: DecisionContext, as_of: date) -> list[Intent]:
    """Daily sweep: eligibility that ran out without a new roster snapshot cancels open tasks.

    There is no cause event; the cause id is derived from the member and the day, so
    running the sweep twice on one day changes nothing the second time.
    """
    profile = state.profile
    if profile is None or profile.active_on(as_of):
        return []
    cause = derive_id(f"{state.member_id}|eligibility", as_of.isoformat())
    reason = ROSTER_LEFT if profile.status == "termed" else f"member not eligible on {as_of.isoformat()}"
    at = datetime.combine(as_of, time(0, 0), tzinfo=ctx.tz)
    intents: list[Intent] = []
    for task in state.tasks:
        if task.is_open and not task.touched_by(cause):
            change = system_cancel(task, at=max(at, task.updated_at or task.created_at), reason=reason,
                                   cause_event_id=cause)
            intents.append(CancelTask(change.task, change.transition, task.version))
    return intents


def decide(event: Event, state: MemberState, ctx: DecisionContext, *, as_of: date | None = None) -> list[Intent]:
    """Intents for one consumed event. Events outreach does not act on give no intents."""
    if event.member_id is not None and event.member_id != state.member_id:
        raise ValueError("the member state is for another member than the event")
    if isinstance(event, GapOpenedV1):
        return on_gap_opened(event, state, ctx)
    if isinstance(event, GapClosedV1):
        return on_gap_closed(event, state, ctx)
    if isinstance(event, GapExcludedV1):
        return on_gap_excluded(event, state, ctx)
    if isinstance(event, CareTransitionV1):
        return on_care_transition(event, state, ctx)
    if isinstance(event, CareTransitionCancelledV1):
        return on_transition_cancelled(event, state, ctx)
    if isinstance(event, ReadmissionV1):
        return on_readmission(event, state, ctx)
    if isinstance(event, ClaimV1):
        return on_claim(event, state, ctx)
    if isinstance(event, MemberRosterV1):
        return on_roster_update(event, state, ctx, as_of)
    if isinstance(event, PortalMessageSentV1):
        return on_portal_message(event, state, ctx)
    return []
