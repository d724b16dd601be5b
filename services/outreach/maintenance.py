"""The worker's periodic jobs (run by a faust timer in ``agents.py``).

- every tick: refresh the queue gauges from the database;
- once per local day: the eligibility sweep (members whose eligibility ran out without a new
  roster snapshot: their open tasks are cancelled, one lifecycle event per cancel) and the
  rescore of every open task (the due-date factor moves with the calendar).

``maintenance_runs`` (job, day) records a finished job; the sweep inserts its row first, in the
same transaction, so two workers never run it for the same day at once. The sweep's events are
written to Kafka and confirmed before the commit, like the consumer's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from shared.db import Database, insert_ignore
from shared.events import utcnow
from shared.kafka import EventProducer

from . import metrics, persistence, store
from .commit_hooks import after_commit
from .domain import DecisionContext, MemberState, lifecycle_event, on_eligibility_check, rescore
from .domain.model import AWAITING_CONTACT

log = logging.getLogger(__name__)

SWEEP = "eligibility_sweep"
RESCORE = "rescore"
MEMBER_CHUNK = 500


class Maintenance:
    def __init__(self, db: Database, producer: EventProducer | None, ctx: DecisionContext, *,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.producer = producer
        self.ctx = ctx
        self.now = now

    def today(self) -> date:
        return self.now().astimezone(self.ctx.tz).date()

    def tick(self) -> None:
        """Gauges always; the daily jobs when today's have not run yet. Failures are logged by
        class name (SQL errors can carry member data) and retried at the next tick."""
        today = self.today()
        for name, job in (("gauges", lambda: self.refresh_gauges(today)),
                          (SWEEP, lambda: self.eligibility_sweep(today)),
                          (RESCORE, lambda: self.rescore_all(today))):
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - a timer must survive; the next tick retries
                log.error("maintenance job %s failed: %s", name, exc.__class__.__name__)

    # ------------------------------------------------------------------ gauges
    def refresh_gauges(self, today: date) -> None:
        t = store.tasks
        with self.db.transaction() as s:
            open_rows = s.execute(select(t.c.queue, t.c.status, func.count())
                                  .where(t.c.status.in_(persistence.NON_TERMINAL))
                                  .group_by(t.c.queue, t.c.status)).all()
            overdue_rows = s.execute(select(t.c.queue, func.count())
                                     .where(t.c.status.in_(tuple(AWAITING_CONTACT)), t.c.due_date < today)
                                     .group_by(t.c.queue)).all()
        metrics.set_queue_gauges([(q, st, n) for q, st, n in open_rows], [(q, n) for q, n in overdue_rows])

    # ------------------------------------------------------------------ daily jobs
    def done(self, job: str, day: date) -> bool:
        m = store.maintenance_runs
        with self.db.transaction() as s:
            return s.execute(select(m.c.job).where(m.c.job == job, m.c.day == day)).first() is not None

    def eligibility_sweep(self, as_of: date) -> int | None:
        """Cancel open tasks of members not eligible on ``as_of``. Returns the number cancelled,
        or None when the sweep already ran (or runs elsewhere) for that day."""
        if self.done(SWEEP, as_of):
            return None
        try:
            with self.db.transaction() as s:
                s.execute(insert(store.maintenance_runs).values(job=SWEEP, day=as_of, finished_at=self.now()))
                t = store.tasks
                members = [m for (m,) in s.execute(
                    select(t.c.member_id).distinct().where(t.c.status.in_(persistence.NON_TERMINAL)))]
                facts = persistence.load_facts(s, members, gaps=False, encounters=False, diagnoses=False)
                leaving = [m for m in members if facts[m].profile is not None
                           and not facts[m].profile.active_on(as_of)]
                tasks = persistence.tasks_of_members(s, leaving)
                updates, records, events, finished = [], [], [], []
                for member_id in leaving:
                    state = MemberState(member_id, tuple(tasks[member_id]), facts[member_id].profile)
                    for intent in on_eligibility_check(state, self.ctx, as_of):
                        updates.append((intent.task, intent.expected_version))
                        records.append(intent.transition)
                        events.append(lifecycle_event(intent.task, intent.transition))
                        finished.append((intent.task, intent.transition))
                persistence.update_tasks(s, updates, store.SYSTEM_COLUMNS)
                persistence.insert_transitions(s, records)
                if events:
                    if self.producer is None:
                        raise RuntimeError("the sweep needs a producer to emit lifecycle events")
                    self.producer.send_sync(events)

                def count() -> None:
                    for task, transition in finished:
                        metrics.count_finished(task, transition)

                after_commit(s, count)
        except IntegrityError:
            return None  # another worker ran it for this day
        if updates:
            log.info("eligibility sweep for %s cancelled %d tasks", as_of.isoformat(), len(updates))
        return len(updates)

    def rescore_all(self, as_of: date) -> int | None:
        """Recompute every open task's priority as of ``as_of`` (priority only; no version change)."""
        if self.done(RESCORE, as_of):
            return None
        t = store.tasks
        with self.db.transaction() as s:
            members = [m for (m,) in s.execute(
                select(t.c.member_id).distinct().where(t.c.status.in_(persistence.NON_TERMINAL))
                .order_by(t.c.member_id))]
        changed = 0
        for part in persistence.chunks(members, MEMBER_CHUNK):
            with self.db.transaction() as s:
                facts = persistence.load_facts(s, part, diagnoses=False)
                tasks = persistence.tasks_of_members(s, part)
                updates = []
                for member_id in part:
                    own = tasks[member_id]
                    pctx = persistence.priority_context(facts[member_id], own, self.ctx.tz)
                    for task in own:
                        if not task.is_open:
                            continue
                        after, _ = rescore(task, pctx, self.ctx.rules.priority, self.ctx.calendar, as_of)
                        if after.priority != task.priority:
                            updates.append((after, 0))
                persistence.update_tasks(s, updates, ("priority",), check_version=False)
                changed += len(updates)
        with self.db.transaction() as s:
            insert_ignore(s, store.maintenance_runs,
                          [{"job": RESCORE, "day": as_of, "finished_at": self.now(), "detail": f"{changed} changed"}])
        return changed
