"""The SQL side of the ports (``app/ports.py``) for one session: tasks, member facts, the audit
log, the daily jobs' log, the read side of the API and the page sessions. Batch-shaped: one
query per table for a whole batch of members (IN-lists in ``shared.db.chunks``).

Every task update is ``UPDATE … WHERE task_id = :id AND version = :read``; when fewer rows
change than expected, ``StaleTask`` is raised (the consumer rolls the batch back, reloads and
decides again; the API answers 409).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.audit import record_access
from shared.db import chunks, insert_ignore, upsert

from ..app.member_facts import MemberFacts
from ..app.ports import HELD, NON_TERMINAL, StaleTask
from ..domain import Task, Transition
from ..domain.model import AWAITING_CONTACT
from . import tables
from .tables import profile_from_row


def _order(t):
    return (t.c.priority.desc(), t.c.due_date.asc().nulls_last(), t.c.created_at.asc(), t.c.task_id.asc())


class SqlTasks:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, task_id: uuid.UUID) -> Task | None:
        row = self.session.execute(select(tables.tasks).where(tables.tasks.c.task_id == str(task_id))).first()
        return tables.task_from_row(row) if row else None

    def of_members(self, member_ids: Iterable[str]) -> dict[str, list[Task]]:
        ids = sorted(set(member_ids))
        out: dict[str, list[Task]] = {m: [] for m in ids}
        for part in chunks(ids):
            for row in self.session.execute(select(tables.tasks).where(tables.tasks.c.member_id.in_(part))):
                task = tables.task_from_row(row)
                out[task.member_id].append(task)
        return out

    def insert(self, tasks: Sequence[Task]) -> None:
        if tasks:
            self.session.execute(insert(tables.tasks), [tables.task_row(t) for t in tasks])

    def update(self, items: Sequence[tuple[Task, int]], fields: Sequence[str], *, check_version: bool = True) -> None:
        if not items:
            return
        t = tables.tasks
        cond = t.c.task_id == bindparam("b_task_id")
        if check_version:
            cond = and_(cond, t.c.version == bindparam("b_expected"))
        stmt = update(t).where(cond).values({c: bindparam(f"v_{c}") for c in fields})
        params = []
        for task, expected in items:
            row = tables.task_row(task)
            p = {f"v_{c}": row[c] for c in fields}
            p["b_task_id"] = row["task_id"]
            p["b_expected"] = expected
            params.append(p)
        result = self.session.connection().execute(stmt, params)
        if check_version and result.rowcount != len(params):
            raise StaleTask("a task changed while it was being updated")

    def insert_transitions(self, transitions: Sequence[Transition]) -> None:
        if transitions:
            self.session.execute(insert(tables.transitions), [tables.transition_row(r) for r in transitions])

    def transitions_of(self, task_id: uuid.UUID) -> list[dict[str, Any]]:
        t = tables.transitions
        rows = self.session.execute(select(t).where(t.c.task_id == str(task_id)).order_by(t.c.version))
        return [dict(r._mapping) for r in rows]

    def open_loads(self, user_ids: Iterable[str]) -> dict[str, int]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        t = tables.tasks
        out: dict[str, int] = {}
        for part in chunks(ids):
            rows = self.session.execute(
                select(t.c.assignee, func.count()).where(t.c.assignee.in_(part), t.c.status.in_(NON_TERMINAL))
                .group_by(t.c.assignee))
            out.update({a: n for a, n in rows})
        return out

    def next_claimable(self, queues: Sequence[str], user_id: str, skip: Sequence[str]) -> Task | None:
        t = tables.tasks
        q = (select(t).where(t.c.status == "open", t.c.queue.in_(list(queues)),
                             or_(t.c.assignee.is_(None), t.c.assignee == user_id))
             .order_by(*_order(t)).limit(1))
        if skip:
            q = q.where(t.c.task_id.not_in(list(skip)))
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        row = self.session.execute(q).first()
        return tables.task_from_row(row) if row is not None else None

    def members_with_open_tasks(self) -> list[str]:
        t = tables.tasks
        return [m for (m,) in self.session.execute(
            select(t.c.member_id).distinct().where(t.c.status.in_(NON_TERMINAL)).order_by(t.c.member_id))]

    def queue_counts(self, today: date) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
        t = tables.tasks
        open_rows = self.session.execute(select(t.c.queue, t.c.status, func.count())
                                         .where(t.c.status.in_(NON_TERMINAL))
                                         .group_by(t.c.queue, t.c.status)).all()
        overdue_rows = self.session.execute(select(t.c.queue, func.count())
                                            .where(t.c.status.in_(tuple(AWAITING_CONTACT)), t.c.due_date < today)
                                            .group_by(t.c.queue)).all()
        return [(q, st, n) for q, st, n in open_rows], [(q, n) for q, n in overdue_rows]


class SqlMembers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def facts(self, member_ids: Iterable[str], *, gaps: bool = True, encounters: bool = True,
              diagnoses: bool = True) -> dict[str, MemberFacts]:
        ids = sorted(set(member_ids))
        out = {m: MemberFacts(m) for m in ids}
        s = self.session
        for part in chunks(ids):
            p = tables.member_profiles
            for row in s.execute(select(p).where(p.c.member_id.in_(part))):
                m = row._mapping
                f = out[m["member_id"]]
                f.profile = profile_from_row(m)
                f.roster_stamp = (m["roster_occurred_at"], m["roster_recorded_at"])
            if diagnoses:
                d = tables.member_diagnoses
                for member_id, code in s.execute(select(d.c.member_id, d.c.code).where(d.c.member_id.in_(part))):
                    out[member_id].diagnoses.add(code)
            if gaps:
                g = tables.member_gaps
                for row in s.execute(select(g).where(g.c.member_id.in_(part))):
                    out[row.member_id].gaps[row.gap_key] = dict(row._mapping)
            if encounters:
                e = tables.encounters
                for row in s.execute(select(e).where(e.c.member_id.in_(part))):
                    out[row.member_id].encounters[row.encounter_id] = dict(row._mapping)
            r = tables.member_risk_tiers
            for member_id, decided_on, occurred_at, history in s.execute(
                    select(r.c.member_id, r.c.decided_on, r.c.occurred_at, r.c.history).where(r.c.member_id.in_(part))):
                f = out[member_id]
                f.risk_history = tuple((date.fromisoformat(d), tier) for d, tier in history)
                f.risk_stamp = (decided_on, occurred_at)
        return out

    def profile_record(self, member_id: str) -> dict[str, Any] | None:
        p = tables.member_profiles
        row = self.session.execute(select(p).where(p.c.member_id == member_id)).first()
        return dict(row._mapping) if row is not None else None

    def names(self, member_ids: Iterable[str]) -> dict[str, str]:
        p = tables.member_profiles
        out: dict[str, str] = {}
        for part in chunks(sorted(set(member_ids))):
            for member_id, given, family in self.session.execute(
                    select(p.c.member_id, p.c.given_name, p.c.family_name).where(p.c.member_id.in_(part))):
                name = f"{given or ''} {family or ''}".strip()
                if name:
                    out[member_id] = name
        return out

    def risk_change(self, member_id: str) -> dict[str, Any] | None:
        r = tables.member_risk_changes
        row = self.session.execute(select(r.c.change).where(r.c.member_id == member_id)).first()
        return dict(row.change) if row is not None else None

    def save(self, *, profiles=(), diagnoses=(), gaps=(), encounters=(), risk_tiers=(), risk_changes=()) -> None:
        s = self.session
        upsert(s, tables.member_risk_tiers, list(risk_tiers), ["member_id"])
        upsert(s, tables.member_risk_changes, list(risk_changes), ["member_id"])
        upsert(s, tables.member_profiles, list(profiles), ["member_id"])
        insert_ignore(s, tables.member_diagnoses, [{"member_id": m, "code": c} for m, c in diagnoses])
        upsert(s, tables.member_gaps, list(gaps), ["member_id", "gap_key"])
        upsert(s, tables.encounters, list(encounters), ["encounter_id"])


class SqlAudit:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, *, user_id, role, member_ids, action, endpoint, detail=None) -> None:
        record_access(self.session, tables.audit, user_id=user_id, role=role, member_ids=member_ids, action=action,
                      endpoint=endpoint, detail=detail)

    def query(self, *, member_id, user_id, since, until, limit) -> list[dict[str, Any]]:
        a = tables.audit
        q = select(a).order_by(a.c.at.desc(), a.c.id.desc()).limit(limit)
        if member_id:
            q = q.where(a.c.member_id == member_id)
        if user_id:
            q = q.where(a.c.user_id == user_id)
        if since:
            q = q.where(a.c.at >= since)
        if until:
            q = q.where(a.c.at < until)
        return [dict(r._mapping) for r in self.session.execute(q)]


class SqlJobs:
    def __init__(self, session: Session) -> None:
        self.session = session

    def done(self, job: str, day: date) -> bool:
        m = tables.maintenance_runs
        return self.session.execute(select(m.c.job).where(m.c.job == job, m.c.day == day)).first() is not None

    def start(self, job: str, day: date, at: datetime) -> bool:
        try:
            self.session.execute(insert(tables.maintenance_runs).values(job=job, day=day, finished_at=at))
        except IntegrityError:
            return False  # another worker ran it (or runs it) for that day; the transaction is done for
        return True

    def finish(self, job: str, day: date, at: datetime, detail: str) -> None:
        insert_ignore(self.session, tables.maintenance_runs,
                      [{"job": job, "day": day, "finished_at": at, "detail": detail}])


class SqlReads:
    def __init__(self, session: Session) -> None:
        self.session = session

    def held_by(self, user_id: str, limit: int) -> list[Task]:
        t = tables.tasks
        return [tables.task_from_row(r) for r in self.session.execute(
            select(t).where(t.c.assignee == user_id, t.c.status.in_(HELD)).order_by(*_order(t)).limit(limit))]

    def claimable(self, queues: Sequence[str], user_id: str, limit: int) -> list[Task]:
        if not queues:
            return []
        t = tables.tasks
        return [tables.task_from_row(r) for r in self.session.execute(
            select(t).where(t.c.queue.in_(list(queues)), t.c.status == "open",
                            or_(t.c.assignee.is_(None), t.c.assignee == user_id))
            .order_by(*_order(t)).limit(limit))]

    def in_queue(self, queue: str, statuses: Sequence[str], limit: int) -> list[Task]:
        t = tables.tasks
        return [tables.task_from_row(r) for r in self.session.execute(
            select(t).where(t.c.queue == queue, t.c.status.in_(list(statuses))).order_by(*_order(t)).limit(limit))]

    def workload_rows(self, today: date, pods: set[str] | None) -> list[tuple]:
        t = tables.tasks
        awaiting = t.c.status.in_(tuple(AWAITING_CONTACT))
        late = func.sum(case((and_(awaiting, t.c.due_date < today), 1), else_=0))
        due_today = func.sum(case((and_(awaiting, t.c.due_date == today), 1), else_=0))
        q = (select(t.c.queue, t.c.status, t.c.assignee, func.count(), late, due_today)
             .where(t.c.status.in_(NON_TERMINAL)).group_by(t.c.queue, t.c.status, t.c.assignee))
        if pods is not None:
            q = q.where(t.c.pod.in_(sorted(pods)))
        return [tuple(r) for r in self.session.execute(q).all()]


class SqlPageSessions:
    def __init__(self, session: Session) -> None:
        self.session = session

    def revoked(self, session_id: str) -> bool:
        r = tables.revoked_sessions
        return self.session.execute(select(r.c.session_id).where(r.c.session_id == session_id)).first() is not None

    def revoke(self, session_id: str, expires_at: datetime, now: datetime) -> None:
        r = tables.revoked_sessions
        insert_ignore(self.session, r, [{"session_id": session_id, "expires_at": expires_at}])
        self.session.execute(delete(r).where(r.c.expires_at < now - timedelta(days=1)))
