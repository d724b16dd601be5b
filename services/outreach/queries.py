"""Reads for the API and the page: queues, task detail, supervisor view, audit log.

Every read that returns member data writes an audit row in the same transaction (who, which
members, which endpoint). Aggregates (the supervisor view) carry no member data.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from shared.audit import record_access
from shared.db import Database
from shared.events import utcnow

from . import persistence, store
from .actors import Actor, TaskNotFound
from .directory import Staff
from .domain import (
    DecisionContext, InvalidCommand, NurseStats, PermissionDenied, PriorityScore, QueueStats, SupervisorView, Task, authorize,
    business_days_left, is_overdue, parse_queue, require, score_task,
)
from .domain.model import AWAITING_CONTACT, STATUSES

HELD = ("claimed", "in_progress", "scheduled")
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


def _order(t):
    return (t.c.priority.desc(), t.c.due_date.asc().nulls_last(), t.c.created_at.asc(), t.c.task_id.asc())


class Queries:
    def __init__(self, db: Database, staff: Staff, ctx: DecisionContext, *, recent_days: int = 90,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
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

    @staticmethod
    def _names(session, tasks: list[Task]) -> dict[str, str]:
        """Member names for a list (the nurse calls people, not ids)."""
        p = store.member_profiles
        out: dict[str, str] = {}
        ids = sorted({t.member_id for t in tasks})
        for part in persistence.chunks(ids):
            for member_id, given, family in session.execute(
                    select(p.c.member_id, p.c.given_name, p.c.family_name).where(p.c.member_id.in_(part))):
                name = f"{given or ''} {family or ''}".strip()
                if name:
                    out[member_id] = name
        return out

    # ------------------------------------------------------------------ queues
    def my_queue(self, actor: Actor, endpoint: str, limit: int = 200) -> tuple[list[QueueItem], list[QueueItem]]:
        """(tasks she holds, open tasks she may claim), each sorted by priority, due date, age."""
        t = store.tasks
        queues = sorted(actor.staff.queues())
        with self.db.transaction() as s:
            held = [store.task_from_row(r) for r in s.execute(
                select(t).where(t.c.assignee == actor.user_id, t.c.status.in_(HELD)).order_by(*_order(t))
                .limit(limit))]
            waiting = [] if not queues else [store.task_from_row(r) for r in s.execute(
                select(t).where(t.c.queue.in_(queues), t.c.status == "open",
                                or_(t.c.assignee.is_(None), t.c.assignee == actor.user_id))
                .order_by(*_order(t)).limit(limit))]
            names = self._names(s, held + waiting)
            self._audit_read(s, actor, held + waiting, endpoint, "my queue")
        return self._items(held, names), self._items(waiting, names)

    def queue_tasks(self, actor: Actor, queue: str, endpoint: str, statuses: tuple[str, ...] | None = None,
                    limit: int = 200) -> list[QueueItem]:
        """A queue's unfinished tasks (nurses of the queue's pod and role, its supervisors, admins)."""
        try:
            parse_queue(queue)
        except ValueError:
            raise InvalidCommand("queue must be '<role>:<pod>' with a known role", field="queue") from None
        require(actor.staff, "view_queue", queue=queue)
        wanted = statuses or persistence.NON_TERMINAL
        t = store.tasks
        with self.db.transaction() as s:
            tasks = [store.task_from_row(r) for r in s.execute(
                select(t).where(t.c.queue == queue, t.c.status.in_(wanted)).order_by(*_order(t))
                .limit(min(limit, MAX_LIST)))]
            names = self._names(s, tasks)
            self._audit_read(s, actor, tasks, endpoint, f"queue {queue}")
        return self._items(tasks, names)

    # ------------------------------------------------------------------ one task
    def task_detail(self, actor: Actor, task_id: uuid.UUID, endpoint: str) -> TaskDetail:
        with self.db.transaction() as s:
            task = persistence.get_task(s, task_id)
            if task is None:
                raise TaskNotFound()
            decision = authorize(actor.staff, "view_task", task=task)
            if decision.allowed:
                facts = persistence.load_facts(s, [task.member_id], diagnoses=False)[task.member_id]
                member_tasks = persistence.tasks_of_members(s, [task.member_id])[task.member_id]
                transitions = persistence.transitions_of(s, task_id)
                profile_row = s.execute(select(store.member_profiles)
                                        .where(store.member_profiles.c.member_id == task.member_id)).first()
            record_access(s, store.audit, user_id=actor.user_id, role=actor.role, member_ids=[task.member_id],
                          action="read", endpoint=endpoint,
                          detail=f"task {task_id}" if decision.allowed else f"task {task_id} refused")
        if not decision.allowed:  # the refusal is audited (committed); the caller learns nothing more
            raise TaskNotFound() if decision.hide else PermissionDenied(decision.reason)
        today = self.today()
        pctx = persistence.priority_context(facts, member_tasks, self.ctx.tz)
        score = score_task(task, pctx, self.ctx.rules.priority, self.ctx.calendar, today)
        member = {"member_id": task.member_id}
        if profile_row is not None:
            p = profile_row._mapping
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
        t = store.tasks
        awaiting = t.c.status.in_(tuple(AWAITING_CONTACT))
        late = func.sum(case((and_(awaiting, t.c.due_date < today), 1), else_=0))
        due_today = func.sum(case((and_(awaiting, t.c.due_date == today), 1), else_=0))
        q = (select(t.c.queue, t.c.status, t.c.assignee, func.count(), late, due_today)
             .where(t.c.status.in_(persistence.NON_TERMINAL)).group_by(t.c.queue, t.c.status, t.c.assignee))
        if pods is not None:
            q = q.where(t.c.pod.in_(sorted(pods)))
        with self.db.transaction() as s:
            rows = s.execute(q).all()
        return _fold(rows, today, self.staff, pods)

    # ------------------------------------------------------------------ audit log
    def audit_log(self, actor: Actor, endpoint: str, *, member_id: str | None, user_id: str | None,
                  since: datetime | None, until: datetime | None, limit: int) -> list[dict[str, Any]]:
        if actor.staff.access != "admin":
            raise PermissionDenied("only admins read the audit log")
        a = store.audit
        q = select(a).order_by(a.c.at.desc(), a.c.id.desc()).limit(limit)
        if member_id:
            q = q.where(a.c.member_id == member_id)
        if user_id:
            q = q.where(a.c.user_id == user_id)
        if since:
            q = q.where(a.c.at >= since)
        if until:
            q = q.where(a.c.at < until)
        with self.db.transaction() as s:
            rows = [_aware(dict(r._mapping)) for r in s.execute(q)]
            record_access(s, store.audit, user_id=actor.user_id, role=actor.role, member_ids=[member_id],
                          action="read", endpoint=endpoint, detail="audit log query")
        return rows

    # ------------------------------------------------------------------ internals
    def _audit_read(self, session, actor: Actor, tasks: list[Task], endpoint: str, detail: str) -> None:
        members = [t.member_id for t in tasks]
        if members:
            record_access(session, store.audit, user_id=actor.user_id, role=actor.role, member_ids=members,
                          action="read", endpoint=endpoint, detail=detail)


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
