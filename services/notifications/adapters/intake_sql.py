"""The worker's unit of work on SQLAlchemy: the projections and the outbox of one batch.

Reads are prefetched for the whole batch in a few ``IN`` queries; writes are kept in memory
and flushed with bulk upserts when the batch ends (``flush``), inside the batch's transaction
(``shared.consumer.BatchConsumer``), together with its ``processed_events`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import JSON, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from shared.chunks import chunks
from shared.unit_of_work import after_commit

from ..domain.model import AWAITING_CONTACT, EncounterFacts, GapFacts, Member, TaskFacts
from . import rows, tables as tb, wakeups
from .bulk import upsert
from .held_sql import SqlHeldAdt
from .outbox_sql import SqlOutbox



class SqlMembers:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.pg = s.get_bind().dialect.name == "postgresql"
        self.cache: dict[str, Member | None] = {}
        self.by_key: dict[str, str] = {}
        self.dirty: dict[str, Member] = {}

    def load(self, member_ids: Iterable[str], patient_keys: Iterable[str]) -> None:
        keys = [k for k in set(patient_keys) if k not in self.by_key]
        ids = {m for m in member_ids if m not in self.cache}
        for part in chunks(keys, 1000):
            for r in self.s.execute(select(tb.member_patients).where(tb.member_patients.c.patient_key.in_(part))):
                self.by_key[r.patient_key] = r.member_id
                if r.member_id not in self.cache:
                    ids.add(r.member_id)
        if ids and self.pg:  # the ids as one JSON parameter: no IN list to build and parse per batch
            for r in self.s.execute(select(tb.members).where(tb.members.c.member_id.in_(
                    select(func.json_array_elements_text(bindparam("ids", type_=JSON())))
                    .scalar_subquery())), {"ids": sorted(ids)}):
                self.cache[r.member_id] = rows.member_of(r)
        for part in chunks(sorted(ids), 1000) if not self.pg else ():
            for r in self.s.execute(select(tb.members).where(tb.members.c.member_id.in_(part))):
                self.cache[r.member_id] = rows.member_of(r)
        for m in ids:
            self.cache.setdefault(m, None)

    def get(self, member_id: str) -> Member | None:
        if member_id not in self.cache:
            self.load([member_id], [])
        return self.cache.get(member_id)

    def by_patient(self, patient_key: str) -> Member | None:
        if patient_key not in self.by_key:
            self.load([], [patient_key])
        member_id = self.by_key.get(patient_key)
        return self.get(member_id) if member_id else None

    def put(self, member: Member) -> None:
        before = self.cache.get(member.member_id)
        for key in before.mrns if before else ():
            if self.by_key.get(key) == member.member_id:
                del self.by_key[key]
        self.cache[member.member_id] = self.dirty[member.member_id] = member
        for key in member.mrns:
            self.by_key[key] = member.member_id

    def flush(self) -> None:
        if not self.dirty:
            return
        changed = list(self.dirty.values())
        upsert(self.s, tb.members, [rows.member_row(m) for m in changed], ["member_id"])
        ids = [m.member_id for m in changed]
        for part in chunks(ids, 1000):
            self.s.execute(delete(tb.member_patients).where(tb.member_patients.c.member_id.in_(part)))
        xref = {k: m.member_id for m in changed for k in m.mrns}
        upsert(self.s, tb.member_patients, [{"patient_key": k, "member_id": v} for k, v in xref.items()],
               ["patient_key"])
        self.dirty.clear()


class SqlEncounters:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.cache: dict[str, EncounterFacts | None] = {}
        self.refs: dict[str, str] = {}
        self.dirty: dict[str, EncounterFacts] = {}
        self.new_refs: dict[str, str] = {}

    def load(self, keys: Iterable[str], refs: Iterable[str]) -> None:
        keys = set(keys)
        want_refs = [r for r in set(refs) if r not in self.refs]
        for part in chunks(want_refs, 1000):
            for r in self.s.execute(select(tb.encounter_refs).where(tb.encounter_refs.c.ref.in_(part))):
                self.refs[r.ref] = r.encounter_key
                keys.add(r.encounter_key)
        keys = [k for k in keys if k not in self.cache]
        for part in chunks(keys, 1000):
            for r in self.s.execute(select(tb.encounters.c.encounter_key, tb.encounters.c.body)
                                    .where(tb.encounters.c.encounter_key.in_(part))):
                self.cache[r.encounter_key] = EncounterFacts.from_dict(r.body)
        for k in keys:
            self.cache.setdefault(k, None)

    def get(self, key: str) -> EncounterFacts | None:
        if key not in self.cache:
            self.load([key], [])
        return self.cache.get(key)

    def by_ref(self, ref: str) -> EncounterFacts | None:
        if ref not in self.refs:
            self.load([], [ref])
        key = self.refs.get(ref)
        return self.get(key) if key else None

    def put(self, encounter: EncounterFacts, refs: Iterable[str] = ()) -> None:
        self.cache[encounter.key] = self.dirty[encounter.key] = encounter
        for r in refs:
            self.refs[r] = self.new_refs[r] = encounter.key

    def flush(self) -> None:
        if self.dirty:
            upsert(self.s, tb.encounters, [
                {"encounter_key": e.key, "fhir_id": e.fhir_id, "member_id": e.member_id, "status": e.status,
                 "start": e.start, "body": e.as_dict()} for e in self.dirty.values()], ["encounter_key"])
        if self.new_refs:
            upsert(self.s, tb.encounter_refs, [{"ref": r, "encounter_key": k} for r, k in self.new_refs.items()],
                   ["ref"])
        self.dirty.clear()
        self.new_refs.clear()


class SqlGaps:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.dirty: dict[str, GapFacts] = {}

    def put(self, gap: GapFacts) -> None:
        self.dirty[gap.gap_key] = gap

    def flush(self) -> None:
        if self.dirty:
            upsert(self.s, tb.gaps, [{"gap_key": g.gap_key, "fhir_id": g.fhir_id, "member_id": g.member_id,
                                      "status": g.status, "body": g.as_dict()} for g in self.dirty.values()],
                   ["gap_key"])
        self.dirty.clear()


class SqlTasks:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.cache: dict[str, TaskFacts | None] = {}
        self.dirty: dict[str, TaskFacts] = {}

    def load(self, task_ids: Iterable[str]) -> None:
        ids = [i for i in set(task_ids) if i not in self.cache]
        for part in chunks(ids, 1000):
            for r in self.s.execute(select(tb.tasks).where(tb.tasks.c.task_id.in_(part))):
                self.cache[r.task_id] = rows.task_of(r)
        for i in ids:
            self.cache.setdefault(i, None)

    def get(self, task_id: str) -> TaskFacts | None:
        if task_id not in self.cache:
            self.load([task_id])
        return self.cache.get(task_id)

    def put(self, task: TaskFacts) -> None:
        self.cache[task.task_id] = self.dirty[task.task_id] = task

    def overdue_candidates(self, today: date, limit: int) -> list[TaskFacts]:
        t = tb.tasks
        q = (select(t).where(t.c.status.in_(sorted(AWAITING_CONTACT)), t.c.due_date < today,
                             or_(t.c.overdue_notified_for.is_(None), t.c.overdue_notified_for != t.c.due_date))
             .order_by(t.c.due_date).limit(limit))
        if self.s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        found = [rows.task_of(r) for r in self.s.execute(q)]
        for task in found:
            self.cache[task.task_id] = task
        return found

    def mark_notified(self, task_id: str, due: date) -> None:
        from dataclasses import replace

        task = self.get(task_id)
        if task is not None:
            self.put(replace(task, overdue_notified_for=due))

    def flush(self) -> None:
        if self.dirty:
            upsert(self.s, tb.tasks, [rows.task_row(t) for t in self.dirty.values()], ["task_id"])
        self.dirty.clear()


class SqlIntakeUnit:
    """The projections and the outbox over one session. ``on_owed`` (the worker's batch): when a
    flush made deliveries owed, every worker's dispatcher is woken when the transaction commits
    (``pg_notify``) and ``on_owed(created by notification topic)`` runs after that commit — once,
    never for an attempt rolled back and retried."""

    def __init__(self, s: Session, on_owed: Callable[[dict[str, int]], None] | None = None) -> None:
        self.session = s
        self.on_owed = on_owed
        self.members = SqlMembers(s)
        self.encounters = SqlEncounters(s)
        self.gaps = SqlGaps(s)
        self.tasks = SqlTasks(s)
        self.outbox = SqlOutbox(s)
        self.held = SqlHeldAdt(s)

    def flush(self) -> None:
        self.held.flush()
        self.members.flush()
        self.encounters.flush()
        self.gaps.flush()
        self.tasks.flush()
        created = dict(self.outbox.created_by_topic)
        if created and self.on_owed is not None:
            on_owed = self.on_owed
            wakeups.notify(self.session)
            after_commit(self.session, lambda: on_owed(created))


__all__ = ["SqlIntakeUnit", "and_", "func"]
