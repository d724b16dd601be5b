"""The worker's periodic jobs: the ``gaps_open`` gauge from the database, and the daily
re-evaluation of every member (closed gaps become due soon as their evidence nears its lapse
date; follow-up windows close).

The daily run starts at the first check after ``DAILY_REEVALUATION_HOUR`` (UTC) on a day it
has not completed; the day is recorded when the run finishes (``maintenance_runs``), so a
run cut short by a restart is done again, with the same event ids.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, or_, select

from shared.db import Database, upsert

from . import metrics
from .handlers import Reevaluation
from .settings import GapsSettings
from .store import gaps, maintenance_runs

log = logging.getLogger(__name__)
DAILY_JOB = "daily-reevaluation"


def open_gap_counts(db: Database, period_start: date) -> dict[str, int]:
    with db.transaction() as session:
        rows = session.execute(select(gaps.c.measure_id, func.count()).where(
            gaps.c.period_start == period_start, gaps.c.status == "open").group_by(gaps.c.measure_id))
        return {m: n for m, n in rows}


def refresh_open_gauge(settings: GapsSettings, db: Database) -> None:
    counts = open_gap_counts(db, settings.period().start)
    for measure in settings.measures:
        metrics.OPEN_GAPS.labels(measure).set(counts.get(measure, 0))


def lapse_candidates(db: Database, settings: GapsSettings, day: date) -> list[str]:
    """Members whose statuses may change with the date alone: closed gaps lapsing within the
    horizon, open follow-up gaps whose window has closed."""
    horizon = day + timedelta(days=settings.due_soon_days)
    period_start = settings.period(day).start
    with db.transaction() as session:
        return sorted(set(session.scalars(select(gaps.c.member_id).where(
            gaps.c.period_start == period_start,
            or_((gaps.c.status == "closed") & (gaps.c.lapses_on <= horizon),
                (gaps.c.status == "open") & (gaps.c.due_date < day))))))


class Maintenance:
    def __init__(self, settings: GapsSettings, db: Database, reevaluation: Reevaluation) -> None:
        self.settings = settings
        self.db = db
        self.reevaluation = reevaluation

    def tick(self, now: datetime | None = None) -> None:
        now = now or datetime.now(timezone.utc)
        refresh_open_gauge(self.settings, self.db)
        if self.settings.daily_reevaluation:
            self.daily(now)

    def last_day(self) -> date | None:
        with self.db.transaction() as session:
            return session.scalar(select(maintenance_runs.c.last_day).where(maintenance_runs.c.job == DAILY_JOB))

    def daily(self, now: datetime) -> bool:
        day = self.settings.evaluation_date or now.date()
        if now.hour < self.settings.daily_reevaluation_hour and self.settings.evaluation_date is None:
            return False
        last = self.last_day()
        if last is not None and last >= day:
            return False
        report = self.reevaluation.run(as_of=day)
        with self.db.transaction() as session:
            upsert(session, maintenance_runs, [{"job": DAILY_JOB, "last_day": day,
                                                "finished_at": datetime.now(timezone.utc)}], ["job"])
        log.info("daily re-evaluation for %s: %d members in %.1fs, %d status changes", day.isoformat(),
                 report.members, report.seconds, report.events)
        refresh_open_gauge(self.settings, self.db)
        return True
