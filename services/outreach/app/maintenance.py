"""The worker's periodic jobs (run by a faust timer in ``worker.py``).

- every tick: refresh the queue gauges from the database;
- once per local day: the eligibility sweep (members whose eligibility ran out without a new
  roster snapshot: their open tasks are cancelled, one lifecycle event per cancel) and the
  rescore of every open task (the due-date factor moves with the calendar).

The job log (job, day) records a finished job; the sweep claims its day first, in the same unit
of work, so two workers never run it for the same day at once. The sweep's events are written
to Kafka and confirmed before the commit, like the consumer's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from shared.chunks import chunks
from shared.events import utcnow

from .. import metrics
from ..domain import DecisionContext, MemberState, lifecycle_event, on_eligibility_check, rescore
from .member_facts import priority_context
from .ports import SYSTEM_FIELDS, UnitOfWorkFactory

log = logging.getLogger(__name__)

SWEEP = "eligibility_sweep"
RESCORE = "rescore"
MEMBER_CHUNK = 500


class Maintenance:
    def __init__(self, uow: UnitOfWorkFactory, ctx: DecisionContext, *,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.uow = uow
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
        with self.uow() as uow:
            open_counts, overdue_counts = uow.tasks.queue_counts(today)
        metrics.set_queue_gauges(open_counts, overdue_counts)

    # ------------------------------------------------------------------ daily jobs
    def done(self, job: str, day: date) -> bool:
        with self.uow() as uow:
            return uow.jobs.done(job, day)

    def eligibility_sweep(self, as_of: date) -> int | None:
        """Cancel open tasks of members not eligible on ``as_of``. Returns the number cancelled,
        or None when the sweep already ran (or runs elsewhere) for that day."""
        if self.done(SWEEP, as_of):
            return None
        with self.uow() as uow:
            if not uow.jobs.start(SWEEP, as_of, self.now()):
                return None  # another worker ran it for this day
            members = uow.tasks.members_with_open_tasks()
            facts = uow.members.facts(members, gaps=False, encounters=False, diagnoses=False)
            leaving = [m for m in members if facts[m].profile is not None and not facts[m].profile.active_on(as_of)]
            tasks = uow.tasks.of_members(leaving)
            updates, records, events, finished = [], [], [], []
            for member_id in leaving:
                state = MemberState(member_id, tuple(tasks[member_id]), facts[member_id].profile)
                for intent in on_eligibility_check(state, self.ctx, as_of):
                    updates.append((intent.task, intent.expected_version))
                    records.append(intent.transition)
                    events.append(lifecycle_event(intent.task, intent.transition))
                    finished.append((intent.task, intent.transition))
            uow.tasks.update(updates, SYSTEM_FIELDS)
            uow.tasks.insert_transitions(records)
            uow.publish(events)

            def count() -> None:
                for task, transition in finished:
                    metrics.count_finished(task, transition)

            uow.after_commit(count)
            uow.commit()
        if updates:
            log.info("eligibility sweep for %s cancelled %d tasks", as_of.isoformat(), len(updates))
        return len(updates)

    def rescore_all(self, as_of: date) -> int | None:
        """Recompute every open task's priority as of ``as_of`` (priority only; no version change)."""
        if self.done(RESCORE, as_of):
            return None
        with self.uow() as uow:
            members = uow.tasks.members_with_open_tasks()
        changed = 0
        for part in chunks(members, MEMBER_CHUNK):
            with self.uow() as uow:
                facts = uow.members.facts(part, diagnoses=False)
                tasks = uow.tasks.of_members(part)
                updates = []
                for member_id in part:
                    own = tasks[member_id]
                    pctx = priority_context(facts[member_id], own, self.ctx.tz)
                    for task in own:
                        if not task.is_open:
                            continue
                        after, _ = rescore(task, pctx, self.ctx.rules.priority, self.ctx.calendar, as_of)
                        if after.priority != task.priority:
                            updates.append((after, 0))
                uow.tasks.update(updates, ("priority",), check_version=False)
                uow.commit()
            changed += len(updates)
        with self.uow() as uow:
            uow.jobs.finish(RESCORE, as_of, self.now(), f"{changed} changed")
            uow.commit()
        return changed
