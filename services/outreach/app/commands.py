"""Nurse and supervisor commands, shared by the JSON API and the page.

Each command is one unit of work: load the task, check the permission (another pod's task is
"not found"), run the domain command with the version the caller read, write it with the
version check (someone else won → 409), record the transition and an audit row, publish the
lifecycle event to ``outreach.tasks`` (written and confirmed by Kafka before the commit), then
commit. A refused command still leaves an audit row (what was attempted, why it was refused).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime

from shared.errors import TransientError
from shared.events import utcnow

from .. import metrics
from ..domain import (
    Change, DecisionContext, InvalidCommand, OutreachError, PermissionDenied, Task, VersionConflict, cancel, claim,
    complete, lifecycle_event, reassign, record_attempt, release, require, schedule,
)
from ..domain.model import TERMINAL
from ..domain.portal_messages import portal_reply, reply_text
from .actors import Actor, TaskNotFound, Unavailable
from .ports import WORKFLOW_FIELDS, StaleTask, UnitOfWork, UnitOfWorkFactory, UnusableValue
from .staff import Staff

log = logging.getLogger(__name__)

UNUSABLE_VALUE = "a value in the request cannot be used (e.g. a NUL character or a number out of range)"

CLAIM_NEXT_TRIES = 8


class Commands:
    def __init__(self, uow: UnitOfWorkFactory, staff: Staff, ctx: DecisionContext, *,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.uow = uow
        self.staff = staff
        self.ctx = ctx
        self.policy = ctx.rules.workflow
        self.now = now

    # ------------------------------------------------------------------ nurse commands
    def claim(self, actor: Actor, task_id: uuid.UUID, expected_version: int, endpoint: str) -> Task:
        return self._change(actor, task_id, "claim", endpoint,
                            lambda t, s: claim(t, actor=actor.user_id, at=self.now(), expected_version=expected_version))

    def release(self, actor: Actor, task_id: uuid.UUID, expected_version: int, note: str | None,
                endpoint: str) -> Task:
        return self._change(actor, task_id, "work", endpoint,
                            lambda t, s: release(t, actor=actor.user_id, at=self.now(),
                                                 expected_version=expected_version, note=note))

    def record_attempt(self, actor: Actor, task_id: uuid.UUID, expected_version: int, channel: str, outcome: str,
                       note: str | None, endpoint: str) -> Task:
        return self._change(actor, task_id, "work", endpoint,
                            lambda t, s: record_attempt(t, actor=actor.user_id, at=self.now(),
                                                        expected_version=expected_version, channel=channel,
                                                        outcome=outcome, note=note, policy=self.policy))

    def schedule(self, actor: Actor, task_id: uuid.UUID, expected_version: int, appointment_date: date,
                 note: str | None, endpoint: str) -> Task:
        return self._change(actor, task_id, "work", endpoint,
                            lambda t, s: schedule(t, actor=actor.user_id, at=self.now(),
                                                  expected_version=expected_version,
                                                  appointment_date=appointment_date, note=note, policy=self.policy))

    def complete(self, actor: Actor, task_id: uuid.UUID, expected_version: int, outcome: str, note: str | None,
                 endpoint: str) -> Task:
        return self._change(actor, task_id, "work", endpoint,
                            lambda t, s: complete(t, actor=actor.user_id, at=self.now(),
                                                  expected_version=expected_version, outcome=outcome, note=note))

    def reply_in_portal(self, actor: Actor, task_id: uuid.UUID, expected_version: int, body: str | None,
                        endpoint: str) -> Task:
        """Answer a member's portal message: an attempt (portal, reached) on the message task and
        the reply on ``portal.replies``, both confirmed by Kafka before the commit."""
        text = reply_text(body)
        replies: list = []

        def run(task: Task, _uow: UnitOfWork) -> Change:
            if task.kind != "message":
                raise InvalidCommand("only a portal message can be answered in the portal")
            at = self.now()
            change = record_attempt(task, actor=actor.user_id, at=at, expected_version=expected_version,
                                    channel="portal", outcome="reached",
                                    note=f"Replied in the portal: {text}"[:500], policy=self.policy)
            replies.append(portal_reply(change.task, body=text, author_name=actor.user.name or actor.user_id,
                                        version=change.task.version, at=at))
            return change

        return self._change(actor, task_id, "work", endpoint, run, also=replies)

    # ------------------------------------------------------------------ supervisor commands
    def cancel(self, actor: Actor, task_id: uuid.UUID, expected_version: int, reason: str, endpoint: str) -> Task:
        return self._change(actor, task_id, "cancel", endpoint,
                            lambda t, s: cancel(t, actor=actor.user_id, at=self.now(),
                                                expected_version=expected_version, reason=reason))

    def reassign(self, actor: Actor, task_id: uuid.UUID, expected_version: int, assignee: str | None,
                 allow_over_capacity: bool, note: str | None, endpoint: str) -> Task:
        def run(task: Task, uow: UnitOfWork) -> Change:
            target = None
            load = 0
            if assignee is not None:
                target = self.staff.get(assignee)
                if target is None:
                    raise InvalidCommand("unknown assignee", field="assignee")
                load = uow.tasks.open_loads([target.user_id]).get(target.user_id, 0)
            return reassign(task, actor=actor.user_id, at=self.now(), expected_version=expected_version, to=target,
                            to_load=load, allow_over_capacity=allow_over_capacity, note=note)

        return self._change(actor, task_id, "reassign", endpoint, run)

    # ------------------------------------------------------------------ claim next
    def claim_next(self, actor: Actor, queue: str | None, endpoint: str) -> Task | None:
        """The highest-priority open task of the nurse's queues that nobody else holds, claimed
        atomically (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the conditional update, and
        the next candidate when another nurse was faster). None when there is nothing to claim."""
        queues = sorted(actor.staff.queues())
        if queue is not None:
            if queue not in queues:
                self._audit(actor, None, endpoint, "claim next refused: not one of the user's queues")
                raise PermissionDenied("not one of the user's queues")
            queues = [queue]
        if not queues:
            return None
        try:
            with self.uow() as uow:
                tried: list[str] = []
                for _ in range(CLAIM_NEXT_TRIES):
                    task = uow.tasks.next_claimable(queues, actor.user_id, tried)
                    if task is None:
                        return None
                    tried.append(str(task.task_id))
                    require(actor.staff, "claim", task=task)
                    change = claim(task, actor=actor.user_id, at=self.now(), expected_version=task.version)
                    try:
                        self._write(uow, actor, task, change, endpoint)
                    except StaleTask:
                        continue  # another nurse claimed it between our read and write: next one
                    uow.commit()
                    return change.task
        except UnusableValue:
            raise InvalidCommand(UNUSABLE_VALUE) from None
        except TransientError as exc:
            log.warning("claim next answered 503: %s: %s", exc.__class__.__name__, exc)
            raise Unavailable(f"claim next could not be recorded ({exc.__class__.__name__}); try again") from None
        raise Unavailable("claim next: every candidate was taken meanwhile; try again")

    # ------------------------------------------------------------------ internals
    def _change(self, actor: Actor, task_id: uuid.UUID, action: str, endpoint: str,
                command: Callable[[Task, UnitOfWork], Change], also: list | None = None) -> Task:
        member_id = None
        task = None
        try:
            with self.uow() as uow:
                task = uow.tasks.get(task_id)
                if task is None:
                    raise TaskNotFound()
                member_id = task.member_id
                require(actor.staff, action, task=task)  # type: ignore[arg-type]
                change = command(task, uow)
                self._write(uow, actor, task, change, endpoint, also)
                uow.commit()
            return change.task
        except StaleTask:
            current = self._current_version(task_id)
            exc = VersionConflict(task.version, current)
            self._audit(actor, member_id, endpoint, f"task {task_id} refused: {exc.__class__.__name__}")
            raise exc from None
        except OutreachError as exc:
            self._audit(actor, member_id, endpoint, f"task {task_id} refused: {exc.__class__.__name__}")
            raise
        except UnusableValue:  # a value the database refuses (a NUL in a note): bad input, not "try again"
            raise InvalidCommand(UNUSABLE_VALUE) from None
        except TransientError as exc:
            log.warning("%s answered 503: %s: %s", action, exc.__class__.__name__, exc)  # the cause, no member data
            raise Unavailable(f"the change could not be recorded ({exc.__class__.__name__}); try again") from None

    def _write(self, uow: UnitOfWork, actor: Actor, before: Task, change: Change, endpoint: str,
               also: list | None = None) -> None:
        """The change, its transition and audit row; its lifecycle event (and ``also``, e.g. a portal
        reply) published, confirmed by Kafka when the unit of work commits."""
        uow.tasks.update([(change.task, before.version)], WORKFLOW_FIELDS)
        uow.tasks.insert_transitions([change.transition])
        uow.audit.record(user_id=actor.user_id, role=actor.role, member_ids=[before.member_id], action="write",
                         endpoint=endpoint, detail=f"task {before.task_id}: {before.status} -> {change.task.status}")
        uow.publish([lifecycle_event(change.task, change.transition), *(also or ())])
        after = change.task
        transition = change.transition

        def count() -> None:
            metrics.observe_first_contact(before, after)
            if transition.to_status in TERMINAL:
                metrics.count_finished(after, transition)

        uow.after_commit(count)

    def _current_version(self, task_id: uuid.UUID) -> int:
        with self.uow() as uow:
            task = uow.tasks.get(task_id)
            return task.version if task else -1

    def _audit(self, actor: Actor, member_id: str | None, endpoint: str, detail: str) -> None:
        try:
            with self.uow() as uow:
                uow.audit.record(user_id=actor.user_id, role=actor.role, member_ids=[member_id], action="write",
                                 endpoint=endpoint, detail=detail)
                uow.commit()
        except (TransientError, UnusableValue):
            pass  # the refusal itself is what the caller gets; the audit of a refusal is best effort
