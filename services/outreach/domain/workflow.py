"""The task state machine.

    open ─claim─► claimed ─attempt─► in_progress ─schedule─► scheduled ─complete─► done
      ▲             │                  │   ▲  │                 │
      └──release────┘                  │   └──┘ attempt         └─schedule (re-book)
                                       ├─ N failed attempts since last reach ─► unable_to_reach
                                       ├─ attempt "declined" ─► done (outcome declined)
                                       └─ complete ─► done
    any non-terminal ─cancel─► cancelled;  system close (gap closed) ─► done

Every command takes the version the caller read (``expected_version``): a mismatch raises
``VersionConflict``. It returns a :class:`Change`: the task after, with the version bumped,
and the transition record. Commands do not check who the actor is allowed to be: call
:func:`permissions.require` first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from .errors import IllegalTransition, InvalidCommand, VersionConflict
from .model import (
    ATTEMPT_OUTCOMES, CHANNELS, SYSTEM_ACTOR, TERMINAL, Attempt, Task, TaskStatus, Transition,
)
from .rules import WorkflowPolicy
from .staff import StaffMember

DEFAULT_POLICY = WorkflowPolicy()
MAX_TEXT = 500


@dataclass(frozen=True)
class Change:
    """A task after a command and the record of the change."""

    task: Task
    transition: Transition


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != task.version:
        raise VersionConflict(expected_version, task.version)


def _require_status(task: Task, command: str, allowed: frozenset[str] | set[str]) -> None:
    if task.status not in allowed:
        raise IllegalTransition(command, task.status)


def _text(value: str | None, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    value = value.strip() if value is not None else None
    if not value:
        if required:
            raise InvalidCommand(f"{field} is required", field=field)
        return None
    if len(value) > limit:
        raise InvalidCommand(f"{field} is longer than {limit} characters", field=field)
    return value


def _actor(actor: str) -> str:
    if not actor or not actor.strip():
        raise InvalidCommand("actor is required", field="actor")
    return actor


def _move(task: Task, to: TaskStatus, *, actor: str, at: datetime, note: str | None = None,
          cause_event_id: uuid.UUID | None = None, transition_extra: dict | None = None,
          **changes) -> Change:
    version = task.version + 1
    after = replace(task, status=to, version=version, updated_at=at,
                    closed_at=at if to in TERMINAL else None, **changes).with_event(cause_event_id)
    extra = transition_extra or {}
    record = Transition(task_id=task.task_id, version=version, at=at, actor=actor, from_status=task.status,
                        to_status=to, note=note, assignee=after.assignee, cause_event_id=cause_event_id,
                        **extra)
    return Change(after, record)


# ---- nurse commands ---------------------------------------------------------------------------

def claim(task: Task, *, actor: str, at: datetime, expected_version: int | None) -> Change:
    """Take an open task. Two claims of one version: the second gets ``VersionConflict``."""
    _check_version(task, expected_version)
    _require_status(task, "claim", {"open"})
    actor = _actor(actor)
    if task.assignee is not None and task.assignee != actor:
        raise IllegalTransition("claim", task.status, "the task is assigned to another user")
    return _move(task, "claimed", actor=actor, at=at, assignee=actor)


def release(task: Task, *, actor: str, at: datetime, expected_version: int | None, note: str | None = None) -> Change:
    """Hand a claimed task back to the queue, unassigned."""
    _check_version(task, expected_version)
    _require_status(task, "release", {"claimed"})
    return _move(task, "open", actor=_actor(actor), at=at, note=_text(note, "note"), assignee=None)


def failed_since_last_reach(attempts: tuple[Attempt, ...], policy: WorkflowPolicy) -> int:
    count = 0
    for attempt in reversed(attempts):
        if attempt.outcome == "reached":
            break
        if attempt.outcome in policy.failed_outcomes:
            count += 1
    return count


def record_attempt(task: Task, *, actor: str, at: datetime, expected_version: int | None, channel: str,
                   outcome: str, note: str | None = None, policy: WorkflowPolicy = DEFAULT_POLICY) -> Change:
    """Record a phone call, text, letter or portal message and its outcome.

    The first attempt moves a claimed task to in progress. A ``declined`` outcome ends it as
    done; the N-th failed attempt since the member was last reached ends it as unable to reach.
    """
    _check_version(task, expected_version)
    _require_status(task, "record an attempt on", {"claimed", "in_progress"})
    if channel not in CHANNELS:
        raise InvalidCommand(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    if outcome not in ATTEMPT_OUTCOMES:
        raise InvalidCommand(f"outcome must be one of {', '.join(ATTEMPT_OUTCOMES)}", field="outcome")
    actor = _actor(actor)
    note = _text(note, "note")
    attempt = Attempt(len(task.attempts) + 1, at, actor, channel, outcome, note)  # type: ignore[arg-type]
    attempts = task.attempts + (attempt,)
    extra = {"channel": channel, "outcome": outcome}
    if outcome == "declined":
        return _move(task, "done", actor=actor, at=at, note=note, attempts=attempts,
                     outcome="declined by member", transition_extra={**extra, "outcome": "declined by member"})
    failed = failed_since_last_reach(attempts, policy)
    if failed >= policy.unable_to_reach_after:
        final = f"unable to reach after {failed} failed attempts"
        return _move(task, "unable_to_reach", actor=actor, at=at, note=note, attempts=attempts,
                     outcome=final, transition_extra={**extra, "outcome": final})
    return _move(task, "in_progress", actor=actor, at=at, note=note, attempts=attempts, transition_extra=extra)


def schedule(task: Task, *, actor: str, at: datetime, expected_version: int | None, appointment_date: date,
             note: str | None = None, policy: WorkflowPolicy = DEFAULT_POLICY) -> Change:
    """Book the appointment (or re-book it). The date may not be in the past."""
    _check_version(task, expected_version)
    _require_status(task, "schedule", {"in_progress", "scheduled"})
    if not isinstance(appointment_date, date) or isinstance(appointment_date, datetime):
        raise InvalidCommand("appointment_date must be a date", field="appointment_date")
    if appointment_date < at.astimezone(policy.tz).date():
        raise InvalidCommand("appointment_date is in the past", field="appointment_date")
    return _move(task, "scheduled", actor=_actor(actor), at=at, note=_text(note, "note"),
                 appointment_date=appointment_date, transition_extra={"appointment_date": appointment_date})


def complete(task: Task, *, actor: str, at: datetime, expected_version: int | None, outcome: str,
             note: str | None = None) -> Change:
    """Finish the work: from in progress (e.g. TCM contact made) or scheduled (visit happened)."""
    _check_version(task, expected_version)
    _require_status(task, "complete", {"in_progress", "scheduled"})
    outcome_text = _text(outcome, "outcome", required=True, limit=200)
    return _move(task, "done", actor=_actor(actor), at=at, note=_text(note, "note"), outcome=outcome_text,
                 transition_extra={"outcome": outcome_text})


# ---- supervisor commands ----------------------------------------------------------------------

def cancel(task: Task, *, actor: str, at: datetime, expected_version: int | None, reason: str) -> Change:
    _check_version(task, expected_version)
    _require_status(task, "cancel", _NON_TERMINAL)
    reason_text = _text(reason, "reason", required=True, limit=200)
    return _move(task, "cancelled", actor=_actor(actor), at=at, note=reason_text, outcome=reason_text,
                 transition_extra={"outcome": reason_text})


def reassign(task: Task, *, actor: str, at: datetime, expected_version: int | None, to: StaffMember | None,
             to_load: int = 0, allow_over_capacity: bool = False, note: str | None = None) -> Change:
    """Give the task to another worker of its queue (or back to the queue, unassigned).

    The target must be active front-line staff with the task's role and pod, and under her
    capacity unless the supervisor overrides it. The status stays; unassigning a claimed task
    returns it to open. Work in progress or scheduled cannot be left without an owner.
    """
    _check_version(task, expected_version)
    _require_status(task, "reassign", _NON_TERMINAL)
    actor = _actor(actor)
    note = _text(note, "note")
    if to is None:
        if task.status not in ("open", "claimed"):
            raise IllegalTransition("unassign", task.status, "work in progress needs an owner")
        if task.assignee is None:
            raise InvalidCommand("the task is already unassigned", field="assignee")
        moved = f"unassigned (was {task.assignee})"
        return _move(task, "open", actor=actor, at=at, note=_join(moved, note), assignee=None)
    if not to.works(task.role, task.pod):
        raise InvalidCommand("the new assignee does not work this queue", field="assignee")
    if to.user_id == task.assignee:
        raise InvalidCommand("the task is already assigned to this user", field="assignee")
    if to_load >= to.capacity and not allow_over_capacity:
        raise InvalidCommand("the new assignee is at capacity", field="assignee")
    moved = f"reassigned from {task.assignee or 'the queue'} to {to.user_id}"
    return _move(task, task.status, actor=actor, at=at, note=_join(moved, note), assignee=to.user_id)


def _join(a: str, b: str | None) -> str:
    return f"{a}: {b}" if b else a


_NON_TERMINAL = frozenset({"open", "claimed", "in_progress", "scheduled"})


# ---- system (event-driven) changes ------------------------------------------------------------

def system_close(task: Task, *, at: datetime, outcome: str, cause_event_id: uuid.UUID) -> Change:
    """The world resolved the task (e.g. the gap closed by a claim): done, whatever its status."""
    _require_status(task, "close", _NON_TERMINAL)
    return _move(task, "done", actor=SYSTEM_ACTOR, at=at, note=outcome, outcome=outcome,
                 cause_event_id=cause_event_id, transition_extra={"outcome": outcome})


def system_cancel(task: Task, *, at: datetime, reason: str, cause_event_id: uuid.UUID) -> Change:
    """The task no longer applies (gap excluded, discharge cancelled, member left the roster)."""
    _require_status(task, "cancel", _NON_TERMINAL)
    return _move(task, "cancelled", actor=SYSTEM_ACTOR, at=at, note=reason, outcome=reason,
                 cause_event_id=cause_event_id, transition_extra={"outcome": reason})


def system_requeue(task: Task, *, pod: str, at: datetime, cause_event_id: uuid.UUID) -> Change:
    """The member moved to another pod: an unclaimed task follows her, unassigned."""
    _require_status(task, "requeue", {"open"})
    note = f"moved from {task.pod} to {pod}"
    return _move(task, "open", actor=SYSTEM_ACTOR, at=at, note=note, pod=pod, assignee=None,
                 cause_event_id=cause_event_id)
