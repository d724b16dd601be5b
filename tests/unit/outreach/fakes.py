"""In-memory repositories and unit of work for outreach's use cases (``app/ports.py``): no
database, no Kafka. They keep the rules the SQL adapters keep — the version check of every
update (``StaleTask``), one open task per key, all-or-nothing commits — so the use cases are
tested for what they do, fast; ``tests/integration/outreach`` runs them on PostgreSQL/SQLite."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from services.outreach.app.member_facts import MemberFacts
from services.outreach.app.ports import HELD, NON_TERMINAL, StaleTask
from services.outreach.domain import MemberProfile, Task, Transition
from services.outreach.domain.model import AWAITING_CONTACT, TERMINAL
from tests.support.fake_uow import FakeUnitOfWorkBase


def _order(t: Task):
    return (-t.priority, t.due_date is None, t.due_date or date.min, t.created_at, str(t.task_id))


@dataclass
class Store:
    """What the database would hold."""

    tasks: dict[uuid.UUID, Task] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    profiles: dict[str, dict] = field(default_factory=dict)
    diagnoses: set[tuple[str, str]] = field(default_factory=set)
    gaps: dict[tuple[str, str], dict] = field(default_factory=dict)
    encounters: dict[str, dict] = field(default_factory=dict)
    risk_tiers: dict[str, dict] = field(default_factory=dict)
    risk_changes: dict[str, dict] = field(default_factory=dict)
    audit: list[dict] = field(default_factory=list)
    jobs: dict[tuple[str, date], str] = field(default_factory=dict)
    revoked: dict[str, datetime] = field(default_factory=dict)
    published: list = field(default_factory=list)  # what went to Kafka (confirmed before each commit)
    commits: int = 0


class Tasks:
    def __init__(self, s: Store) -> None:
        self.s = s

    def get(self, task_id):
        return self.s.tasks.get(task_id)

    def of_members(self, member_ids):
        ids = set(member_ids)
        out = {m: [] for m in ids}
        for t in self.s.tasks.values():
            if t.member_id in ids:
                out[t.member_id].append(t)
        return out

    def _check_open_key(self, task: Task) -> None:
        if task.status in TERMINAL:
            return
        for other in self.s.tasks.values():
            if other.task_id != task.task_id and other.key == task.key and other.status not in TERMINAL:
                raise ValueError(f"unique open key violated: {task.key}")

    def insert(self, tasks):
        for t in tasks:
            if t.task_id in self.s.tasks:
                raise ValueError("duplicate task id")
            self._check_open_key(t)
            self.s.tasks[t.task_id] = t

    def update(self, items, fields, *, check_version=True):
        for task, expected in items:
            current = self.s.tasks.get(task.task_id)
            if current is None or (check_version and current.version != expected):
                raise StaleTask("a task changed while it was being updated")
            changes = {f: getattr(task, f) for f in fields if f not in ("open_key", "queue")}  # derived columns
            updated = replace(current, **changes)
            self._check_open_key(updated)
            self.s.tasks[task.task_id] = updated

    def insert_transitions(self, transitions):
        keys = {(t.task_id, t.version) for t in self.s.transitions}
        for t in transitions:
            if (t.task_id, t.version) in keys:
                raise ValueError("duplicate transition")
            self.s.transitions.append(t)

    def transitions_of(self, task_id):
        return [vars(t).copy() for t in sorted((t for t in self.s.transitions if t.task_id == task_id),
                                               key=lambda t: t.version)]

    def open_loads(self, user_ids):
        users = set(user_ids)
        out: dict[str, int] = {}
        for t in self.s.tasks.values():
            if t.assignee in users and t.status in NON_TERMINAL:
                out[t.assignee] = out.get(t.assignee, 0) + 1
        return out

    def next_claimable(self, queues, user_id, skip):
        candidates = [t for t in self.s.tasks.values() if t.status == "open" and t.queue in queues
                      and t.assignee in (None, user_id) and str(t.task_id) not in skip]
        return min(candidates, key=_order, default=None)

    def members_with_open_tasks(self):
        return sorted({t.member_id for t in self.s.tasks.values() if t.status in NON_TERMINAL})

    def queue_counts(self, today):
        opened: dict[tuple[str, str], int] = {}
        overdue: dict[str, int] = {}
        for t in self.s.tasks.values():
            if t.status in NON_TERMINAL:
                opened[(t.queue, t.status)] = opened.get((t.queue, t.status), 0) + 1
            if t.status in AWAITING_CONTACT and t.due_date is not None and t.due_date < today:
                overdue[t.queue] = overdue.get(t.queue, 0) + 1
        return [(q, st, n) for (q, st), n in opened.items()], list(overdue.items())


class Members:
    def __init__(self, s: Store) -> None:
        self.s = s

    def facts(self, member_ids, *, gaps=True, encounters=True, diagnoses=True):
        out = {}
        for m in set(member_ids):
            f = MemberFacts(m)
            p = self.s.profiles.get(m)
            if p is not None:
                f.profile = MemberProfile(
                    member_id=m, practice_id=p["practice_id"], contract_id=p["contract_id"], pod=p["pod"],
                    risk_tier=p["risk_tier"], status=p["status"],
                    eligibility=tuple((date.fromisoformat(a), date.fromisoformat(b) if b else None)
                                      for a, b in p["eligibility"]))
                f.roster_stamp = (p["roster_occurred_at"], p["roster_recorded_at"])
            if diagnoses:
                f.diagnoses = {c for mm, c in self.s.diagnoses if mm == m}
            if gaps:
                f.gaps = {k: dict(v) for (mm, k), v in self.s.gaps.items() if mm == m}
            if encounters:
                f.encounters = {k: dict(v) for k, v in self.s.encounters.items() if v["member_id"] == m}
            r = self.s.risk_tiers.get(m)
            if r is not None:
                f.risk_history = tuple((date.fromisoformat(d), t) for d, t in r["history"])
                f.risk_stamp = (r["decided_on"], r["occurred_at"])
            out[m] = f
        return out

    def profile_record(self, member_id):
        p = self.s.profiles.get(member_id)
        return dict(p) if p else None

    def names(self, member_ids):
        out = {}
        for m in set(member_ids):
            p = self.s.profiles.get(m)
            name = f"{(p or {}).get('given_name') or ''} {(p or {}).get('family_name') or ''}".strip()
            if name:
                out[m] = name
        return out

    def risk_change(self, member_id):
        r = self.s.risk_changes.get(member_id)
        return dict(r["change"]) if r else None

    def save(self, *, profiles=(), diagnoses=(), gaps=(), encounters=(), risk_tiers=(), risk_changes=()):
        for r in risk_tiers:
            self.s.risk_tiers[r["member_id"]] = dict(r)
        for r in risk_changes:
            self.s.risk_changes[r["member_id"]] = dict(r)
        for p in profiles:
            self.s.profiles[p["member_id"]] = dict(p)
        self.s.diagnoses.update(diagnoses)
        for g in gaps:
            self.s.gaps[(g["member_id"], g["gap_key"])] = dict(g)
        for e in encounters:
            self.s.encounters[e["encounter_id"]] = dict(e)


class Audit:
    def __init__(self, s: Store) -> None:
        self.s = s

    def record(self, *, user_id, role, member_ids, action, endpoint, detail=None):
        for m in dict.fromkeys(member_ids):
            self.s.audit.append({"user_id": user_id, "role": role, "member_id": m, "action": action,
                                 "endpoint": endpoint, "detail": detail, "at": datetime.now().astimezone()})

    def query(self, *, member_id, user_id, since, until, limit):
        rows = [r for r in reversed(self.s.audit) if (not member_id or r["member_id"] == member_id)
                and (not user_id or r["user_id"] == user_id)]
        return [dict(r, id=i) for i, r in enumerate(rows[:limit])]


class Jobs:
    def __init__(self, s: Store) -> None:
        self.s = s

    def done(self, job, day):
        return (job, day) in self.s.jobs

    def start(self, job, day, at):
        if (job, day) in self.s.jobs:
            return False
        self.s.jobs[(job, day)] = "started"
        return True

    def finish(self, job, day, at, detail):
        self.s.jobs.setdefault((job, day), detail)


class Reads:
    def __init__(self, s: Store) -> None:
        self.s = s

    def held_by(self, user_id, limit):
        return sorted((t for t in self.s.tasks.values() if t.assignee == user_id and t.status in HELD),
                      key=_order)[:limit]

    def claimable(self, queues, user_id, limit):
        return sorted((t for t in self.s.tasks.values() if t.queue in queues and t.status == "open"
                       and t.assignee in (None, user_id)), key=_order)[:limit]

    def in_queue(self, queue, statuses, limit):
        return sorted((t for t in self.s.tasks.values() if t.queue == queue and t.status in statuses),
                      key=_order)[:limit]

    def workload_rows(self, today, pods):
        rows: dict[tuple, list[int]] = {}
        for t in self.s.tasks.values():
            if t.status not in NON_TERMINAL or (pods is not None and t.pod not in pods):
                continue
            r = rows.setdefault((t.queue, t.status, t.assignee), [0, 0, 0])
            r[0] += 1
            waiting = t.status in AWAITING_CONTACT and t.due_date is not None
            r[1] += int(waiting and t.due_date < today)
            r[2] += int(waiting and t.due_date == today)
        return [(*k, *v) for k, v in rows.items()]


class PageSessions:
    def __init__(self, s: Store) -> None:
        self.s = s

    def revoked(self, session_id):
        return session_id in self.s.revoked

    def revoke(self, session_id, expires_at, now):
        self.s.revoked[session_id] = expires_at


class FakeUnitOfWork(FakeUnitOfWorkBase):
    """All-or-nothing on a copy of the store (``tests.support.fake_uow``); ``commit`` publishes
    first (Kafka confirmed them: not part of a rollback), and a failed commit (after publishing, as a
    lost database connection would fail) is ``StoreUnavailable``."""

    def _bind(self, s: Store) -> None:
        super()._bind(s)
        self.tasks, self.members, self.audit = Tasks(s), Members(s), Audit(s)
        self.jobs, self.reads, self.sessions = Jobs(s), Reads(s), PageSessions(s)
        self._outbox: list = []

    def publish(self, events):
        self._outbox.extend(events)

    def commit_failure(self) -> Exception:
        from services.outreach.app.ports import StoreUnavailable

        return StoreUnavailable("commit failed")

    def commit(self):
        self.store.published.extend(self._outbox)  # Kafka confirmed them: not part of the rollback
        self._outbox = []
        super().commit()


def factory(store: Store):
    return lambda: FakeUnitOfWork(store)


def apply_batch(store: Store, ctx, staff, events, *, today=None) -> list:
    """One batch through the routes table on the in-memory store, committed (what the consumer
    pipeline does, minus the dedupe and Kafka)."""
    from services.outreach.app.batch import TaskBatch
    from services.outreach.routes import ROUTES

    uow = FakeUnitOfWork(store)
    with uow:
        out = ROUTES.handler(lambda _session: uow, TaskBatch.starter(ctx, staff, today=today))(None, list(events))
        uow.commit()
    return out
