"""Reads for the API and the page: queues, task detail, supervisor view, audit log.

Every read that returns member data writes an audit row in the same unit of work (who, which
members, which endpoint). Aggregates (the supervisor view) carry no member data.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.events import utcnow

from ..domain import (
    DecisionContext, InvalidCommand, NurseStats, PermissionDenied, PriorityScore, QueueStats, SupervisorView, Task,
    authorize, business_days_left, is_overdue, parse_queue, require, score_task,
)
from ..domain.model import STATUSES
from .actors import Actor, TaskNotFound
from .member_facts import priority_context
from .ports import NON_TERMINAL, UnitOfWork, UnitOfWorkFactory
from .staff import Staff

MAX_LIST = 500


@dataclass(frozen=True)
class QueueItem:
    task: Task
    overdue: bool
    business_days_left: int | None
    member_name: str | None = None


@dataclass(frozen=True)
class TaskDetail:
    task: Task
    overdue: bool
    business_days_left: int | None
    score: PriorityScore
    as_of: date
    transitions: list[dict[str, Any]]
    member: dict[str, Any]
    open_gaps: list[dict[str, Any]]
    encounters: list[dict[str, Any]]


class Queries:
    def __init__(self, uow: UnitOfWorkFactory, staff: Staff, ctx: DecisionContext, *, recent_days: int = 90,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.uow = uow
        self.staff = staff
        self.ctx = ctx
        self.recent_days = recent_days
        self.now = now

    def today(self) -> date:
        return self.now().astimezone(self.ctx.tz).date()

    def _items(self, tasks: list[Task], names: dict[str, str] | None = None) -> list[QueueItem]:
        today = self.today()
        names = names or {}
        return [QueueItem(t, is_overdue(t, today), business_days_left(t, today, self.ctx.calendar),
                          names.get(t.member_id)) for t in tasks]

    # ------------------------------------------------------------------ queues
    def my_queue(self, actor: Actor, endpoint: str, limit: int = 200) -> tuple[list[QueueItem], list[QueueItem]]:
        """(tasks she holds, open tasks she may claim), each sorted by priority, due date, age."""
        queues = sorted(actor.staff.queues())
        with self.uow() as uow:
            held = uow.reads.held_by(actor.user_id, limit)
            waiting = uow.reads.claimable(queues, actor.user_id, limit)
            names = uow.members.names(t.member_id for t in held + waiting)
            self._audit_read(uow, actor, held + waiting, endpoint, "my queue")
            uow.commit()
        return self._items(held, names), self._items(waiting, names)

    def queue_tasks(self, actor: Actor, queue: str, endpoint: str, statuses: tuple[str, ...] | None = None,
                    limit: int = 200) -> list[QueueItem]:
        """A queue's unfinished tasks (nurses of the queue's pod and role, its supervisors, admins)."""
        try:
            parse_queue(queue)
        except ValueError:
            raise InvalidCommand("queue must be '<role>:<pod>' with a known role", field="queue") from None
        require(actor.staff, "view_queue", queue=queue)
        wanted = statuses or NON_TERMINAL
        with self.uow() as uow:
            tasks = uow.reads.in_queue(queue, wanted, min(limit, MAX_LIST))
            names = uow.members.names(t.member_id for t in tasks)
            self._audit_read(uow, actor, tasks, endpoint, f"queue {queue}")
            uow.commit()
        return self._items(tasks, names)

    # ------------------------------------------------------------------ one task
    def task_detail(self, actor: Actor, task_id: uuid.UUID, endpoint: str) -> TaskDetail:
        with self.uow() as uow:
            task = uow.tasks.get(task_id)
            if task is None:
                raise TaskNotFound()
            decision = authorize(actor.staff, "view_task", task=task)
            if decision.allowed:
                facts = uow.members.facts([task.member_id], diagnoses=False)[task.member_id]
                member_tasks = uow.tasks.of_members([task.member_id])[task.member_id]
                transitions = uow.tasks.transitions_of(task_id)
                profile = uow.members.profile_record(task.member_id)
            uow.audit.record(user_id=actor.user_id, role=actor.role, member_ids=[task.member_id], action="read",
                             endpoint=endpoint,
                             detail=f"task {task_id}" if decision.allowed else f"task {task_id} refused")
            uow.commit()
        if not decision.allowed:  # the refusal is audited (committed); the caller learns nothing more
            raise TaskNotFound() if decision.hide else PermissionDenied(decision.reason)
        today = self.today()
        pctx = priority_context(facts, member_tasks, self.ctx.tz)
        score = score_task(task, pctx, self.ctx.rules.priority, self.ctx.calendar, today)
        member = {"member_id": task.member_id}
        if profile is not None:
            p = profile
            member.update({k: p[k] for k in ("given_name", "family_name", "birth_date", "practice_id", "pod",
                                             "risk_tier", "status", "contract_id")})
        gaps = sorted((g for g in facts.gaps.values() if g["status"] == "open"), key=lambda g: g["measure_id"])
        since = self.now() - timedelta(days=self.recent_days)
        recent = [e for e in facts.encounters.values()
                  if e["status"] == "active" and (e["discharge_at"] or e["occurred_at"]) >= since]
        recent.sort(key=lambda e: e["discharge_at"] or e["occurred_at"], reverse=True)
        return TaskDetail(task, is_overdue(task, today), business_days_left(task, today, self.ctx.calendar), score,
                          today, transitions, member, gaps, recent)

    # ------------------------------------------------------------------ aggregates
    def supervisor_view(self, actor: Actor, pod: str | None = None) -> SupervisorView:
        """Depth, unassigned, overdue and due today per queue; depth and overdue per nurse.
        Supervisors see their pods, ops and admins every pod. No member data."""
        require(actor.staff, "aggregates")
        pods: set[str] | None
        if actor.staff.access == "supervisor":
            pods = set(actor.staff.pods)
            if pod is not None:
                if pod not in pods:
                    raise PermissionDenied("outside the user's pods")
                pods = {pod}
        else:
            pods = {pod} if pod is not None else None
        today = self.today()
        with self.uow() as uow:
            rows = uow.reads.workload_rows(today, pods)
        return _fold(rows, today, self.staff, pods)

    # ------------------------------------------------------------------ audit log
    def audit_log(self, actor: Actor, endpoint: str, *, member_id: str | None, user_id: str | None,
                  since: datetime | None, until: datetime | None, limit: int) -> list[dict[str, Any]]:
        if actor.staff.access != "admin":
            raise PermissionDenied("only admins read the audit log")
        with self.uow() as uow:
            rows = [_aware(r) for r in uow.audit.query(member_id=member_id, user_id=user_id, since=since, until=until,
                                                       limit=limit)]
            uow.audit.record(user_id=actor.user_id, role=actor.role, member_ids=[member_id], action="read",
                             endpoint=endpoint, detail="audit log query")
            uow.commit()
        return rows

    # ------------------------------------------------------------------ internals
    def _audit_read(self, uow: UnitOfWork, actor: Actor, tasks: list[Task], endpoint: str, detail: str) -> None:
        members = [t.member_id for t in tasks]
        if members:
            uow.audit.record(user_id=actor.user_id, role=actor.role, member_ids=members, action="read",
                             endpoint=endpoint, detail=detail)


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite hands back the audit log's timestamps without their (UTC) offset."""
    if row["at"] is not None and row["at"].tzinfo is None:
        row["at"] = row["at"].replace(tzinfo=timezone.utc)
    return row


def _fold(rows, as_of: date, staff: Staff, pods: set[str] | None) -> SupervisorView:
    depth: Counter = Counter()
    unassigned: Counter = Counter()
    overdue: Counter = Counter()
    today: Counter = Counter()
    statuses: dict[str, Counter] = defaultdict(Counter)
    nurse_depth: dict[str, Counter] = defaultdict(Counter)
    nurse_late: dict[str, Counter] = defaultdict(Counter)
    for queue, status, assignee, n, late, due in rows:
        late, due = int(late or 0), int(due or 0)
        depth[queue] += n
        overdue[queue] += late
        today[queue] += due
        statuses[queue][status] += n
        if assignee is None:
            unassigned[queue] += n
        else:
            nurse_depth[assignee][queue] += n
            nurse_late[assignee][queue] += late
    queues = []
    for queue in sorted(depth):
        role, pod = parse_queue(queue)
        queues.append(QueueStats(queue=queue, role=role, pod=pod, depth=depth[queue], unassigned=unassigned[queue],
                                 overdue=overdue[queue], due_today=today[queue],
                                 by_status=tuple((st, statuses[queue][st]) for st in STATUSES
                                                 if statuses[queue][st])))
    capacity: dict[str, int] = {}
    for member in staff.members.values():
        if member.access == "nurse" and (pods is None or member.pods & pods):
            capacity[member.user_id] = member.capacity
            nurse_depth[member.user_id]  # idle workers are listed with zeros
    nurses = tuple(
        NurseStats(user_id=u, depth=sum(nurse_depth[u].values()), overdue=sum(nurse_late[u].values()),
                   capacity=capacity.get(u),
                   by_queue=tuple((q, nurse_depth[u][q], nurse_late[u][q]) for q in sorted(nurse_depth[u])))
        for u in sorted(nurse_depth))
    return SupervisorView(as_of, tuple(queues), nurses)
