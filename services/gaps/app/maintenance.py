"""The worker's periodic jobs: the ``gaps_open`` gauge from the store, and the daily
re-evaluation of every member (closed gaps become due soon as their evidence nears its lapse
date; follow-up windows close).

The daily run starts at the first check after ``DAILY_REEVALUATION_HOUR`` (UTC) on a day it
has not completed; the day is recorded when the run finishes (``maintenance_runs``), so a
run cut short by a restart is done again, with the same event ids.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from .. import metrics
from .ports import UnitOfWorkFactory
from .reevaluation import Reevaluation

if TYPE_CHECKING:  # pragma: no cover
    from ..settings import GapsSettings

log = logging.getLogger(__name__)
DAILY_JOB = "daily-reevaluation"


def refresh_open_gauge(settings: GapsSettings, uow: UnitOfWorkFactory) -> None:
    with uow() as u:
        counts = u.gaps.open_counts(settings.period().start)
    for measure in settings.measures:
        metrics.OPEN_GAPS.labels(measure).set(counts.get(measure, 0))


def lapse_candidates(settings: GapsSettings, uow: UnitOfWorkFactory, day: date) -> list[str]:
    """Members whose statuses may change with the date alone: closed gaps lapsing within the
    horizon, open follow-up gaps whose window has closed."""
    with uow() as u:
        return sorted(set(u.gaps.lapsing(settings.period(day).start, day, day + timedelta(days=settings.due_soon_days))))


class Maintenance:
    def __init__(self, settings: GapsSettings, uow: UnitOfWorkFactory, reevaluation: Reevaluation) -> None:
        self.settings = settings
        self.uow = uow
        self.reevaluation = reevaluation

    def tick(self, now: datetime | None = None) -> None:
        now = now or datetime.now(timezone.utc)
        refresh_open_gauge(self.settings, self.uow)
        if self.settings.daily_reevaluation:
            self.daily(now)

    def last_day(self) -> date | None:
        with self.uow() as u:
            return u.runs.last_day(DAILY_JOB)

    def daily(self, now: datetime) -> bool:
        day = self.settings.evaluation_date or now.date()
        if now.hour < self.settings.daily_reevaluation_hour and self.settings.evaluation_date is None:
            return False
        last = self.last_day()
        if last is not None and last >= day:
            return False
        report = self.reevaluation.run(as_of=day)
        with self.uow() as u:
            u.runs.finished(DAILY_JOB, day, datetime.now(timezone.utc))
            u.commit()
        log.info("daily re-evaluation for %s: %d members in %.1fs, %d status changes", day.isoformat(),
                 report.members, report.seconds, report.events)
        refresh_open_gauge(self.settings, self.uow)
        return True
