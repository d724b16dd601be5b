"""Re-evaluate members outside the stream (the daily due-soon run, ``python -m services.gaps
reevaluate``): all of them, or the given ones, in chunks of ``REEVALUATE_CHUNK``; each chunk in
its own unit of work: lock, load, evaluate, save, publish (confirmed by Kafka), commit.

The cause of every status change is one id per day (``reevaluation_cause``): a run cut short is
done again with the same event ids. In the worker the units of work hold the process's
evaluation lock, so a chunk never interleaves with a batch of the stream (other processes:
``uow.members.lock``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

from shared.chunks import chunks
from shared.events import derive_id

from .evaluation import Evaluator
from .ports import UnitOfWorkFactory


@dataclass
class ReevaluationReport:
    members: int = 0
    evaluated: int = 0
    events: int = 0
    changed_rows: int = 0
    seconds: float = 0.0
    by_type: dict[str, int] | None = None


def reevaluation_cause(day: date) -> str:
    """One cause per day: re-running the same day's evaluation gives the same event ids."""
    return str(derive_id("gaps.reevaluate", day.isoformat()))


class Reevaluation:
    def __init__(self, uow: UnitOfWorkFactory, evaluator: Evaluator, *, chunk: int) -> None:
        self.uow = uow
        self.evaluator = evaluator
        self.chunk = chunk

    def member_ids(self) -> list[str]:
        with self.uow() as uow:
            return uow.members.ids()

    def run(self, member_ids: Sequence[str] | None = None, *, as_of: date | None = None,
            progress: Callable[[int, int], None] | None = None) -> ReevaluationReport:
        started = time.perf_counter()
        day = as_of or self.evaluator.today()
        walk = member_ids is None  # the whole roster in the store's order: each chunk is a range
        ids = sorted(set(member_ids)) if member_ids is not None else self.member_ids()
        report = ReevaluationReport(members=len(ids), by_type={})
        cause_id = reevaluation_cause(day)
        occurred_at = datetime.now(timezone.utc)
        done = 0
        for part in chunks(ids, self.chunk):
            with self.uow() as uow:
                span = (part[0], part[-1]) if walk else None
                uow.members.lock(part, span=span)
                outcome = self.evaluator.evaluate(uow, {m: (occurred_at, cause_id) for m in part}, as_of=day,
                                                  span=span)
                uow.publish(outcome.events)
                uow.commit()
            done += len(part)
            report.evaluated += outcome.evaluated
            report.events += len(outcome.events)
            report.changed_rows += outcome.changed_rows
            for ev in outcome.events:
                report.by_type[ev.event_type] = report.by_type.get(ev.event_type, 0) + 1
            if progress:
                progress(done, len(ids))
        report.seconds = time.perf_counter() - started
        return report
