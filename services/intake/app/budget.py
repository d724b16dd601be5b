"""A load's time budget, its progress relay and what a report may say about an error."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from shared.errors import TransientError

from .. import metrics
from ..domain import Progress, utcnow
from .ports import EventSink

log = logging.getLogger(__name__)


class BudgetExceeded(Exception):
    """The load's time budget ran out."""


class Budget:
    """A load's time budget: ``check()`` raises ``BudgetExceeded`` once it has run out (it
    looks at the clock every ``every`` calls)."""

    def __init__(self, seconds: float, every: int = 256) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.deadline_at = utcnow() + timedelta(seconds=seconds)
        self._every = every
        self._n = 0

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self) -> None:
        self._n += 1
        if self._n % self._every == 0 and time.monotonic() > self.deadline:
            raise BudgetExceeded()

    def reason(self, what: str) -> str:
        return (f"the load's time budget of {self.seconds:g} s (LOAD_TIME_BUDGET_S) ran out {what}; what was "
                "produced keeps its ids: loading the same input again is safe")


def safe_error(exc: BaseException) -> str:
    """An error for a report: broker errors say what failed; anything else only its class
    (a database error can quote row values)."""
    if isinstance(exc, TransientError):
        return f"{exc.__class__.__name__}: {str(exc)[:300]}"
    return exc.__class__.__name__


class ProgressRelay:
    """Parser progress → the caller's callback and the ``intake_load_progress_ratio`` gauge."""

    def __init__(self, callback: Callable[[Progress], None] | None, budget: Budget | None = None) -> None:
        self.callback = callback
        self.gauge = metrics.LOAD_PROGRESS
        self.last: Progress | None = None
        self.budget = budget

    def __call__(self, p: Progress) -> None:
        self.last = p
        if self.budget is not None and not p.done and self.budget.expired():
            raise BudgetExceeded()  # out of the parser, into the load's failure path
        frac = p.fraction
        if frac is not None:
            self.gauge.set(frac)
        if self.callback:
            self.callback(p)


def flush_quietly(sink: EventSink) -> None:
    """Confirm what was already handed to the broker when a load stops on its time budget: the
    report counts what was confirmed, and a broker failure here is logged, not raised over the
    budget failure that ended the load."""
    try:
        sink.flush()
    except TransientError as exc:
        log.warning("load stopping: the broker did not confirm the last batch (%s)", type(exc).__name__)


def start_record(ctx, report, budget: Budget) -> None:
    report.deadline = budget.deadline_at.isoformat()
    ctx.records.start(report)


def finish_record(ctx, report) -> None:
    """The terminal record, then the metric (counted once the record is written)."""
    ctx.records.finish(report)
    metrics.LOADS_FINISHED.labels(report.kind, report.format, report.status).inc()
