"""``python -m services.risk worker``: the faust worker, wiring only.

Runs the routes table (``routes.py``: members.roster, claims.events, alerts.hospitalist,
care.transitions and gaps.events → ``app/intake.py``) through the shared consumer pipeline in
batches: one transaction per batch with the processed-events dedupe, the touched members
re-scored (``app/batch.py``), tier changes to ``risk.tiers`` confirmed before the commit, the
metrics counted after it, the batch's offsets committed after that. Timers: a full re-score when
the day changes (the 12-month windows moved), and the ED evidence gauges.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import faust

from shared.consumer import BatchConsumer
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from . import metrics
from .adapters.reference import load_avoidable_list, load_practice_hours
from .adapters.repository import SqlRiskRepository
from .adapters.unit_of_work import SqlUnitOfWork
from .adapters.wiring import build_context, database, transactions
from .app.batch import ScoringBatch
from .app.ed_report import ed_evidence
from .app.full_rescore import full_rescore
from .routes import ROUTES
from .settings import RiskSettings

log = logging.getLogger(__name__)


def one_writer(handler: Callable, lock: threading.Lock) -> Callable:
    """The batch handler holding ``lock``: a batch and a chunk of the daily full re-score (a timer's
    thread) never write members' assessments at the same time."""

    def handle(session, events):
        with lock:
            return handler(session, events)

    return handle


def build_worker(settings: RiskSettings) -> faust.App:
    db = database(settings)
    ctx = build_context(settings)
    hours, avoidable = load_practice_hours(settings.hours_file), load_avoidable_list()
    producer = EventProducer(settings, client_id="risk-worker")
    lock = threading.Lock()   # one writer of assessments at a time: a batch, or a chunk of the full re-score
    consumer = BatchConsumer.for_routes(ROUTES, db, producer, SqlUnitOfWork.for_session,
                                        begin=ScoringBatch.starter(ctx))
    consumer.handler = one_writer(consumer.handler, lock)

    app = create_app("risk", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"database": db.ping()})
    consume(app, settings, None, consumer, batch_size=settings.worker_batch_size, within=settings.worker_within_s,
            # throughput-bound: a member's assessment is scored once per batch
            fill_after_batch=True)
    last_day: list = [None]

    def rescore_if_new_day() -> None:
        today = settings.today()
        if last_day[0] == today:
            return
        stats = full_rescore(transactions(db), ctx, producer.send_sync, guard=lambda: lock)
        metrics.FULL_RESCORE_SECONDS.set(stats.seconds)
        metrics.FULL_RESCORE_MEMBERS.set(stats.members)
        metrics.MEMBERS_SCORED.labels("full_rescore").inc(stats.members)
        log.info("full re-score: %d members, %d tier changes, %.1f s", stats.members, stats.changes, stats.seconds)
        last_day[0] = today

    def refresh_evidence() -> None:
        with metrics.ED_EVIDENCE_SECONDS.time(), db.transaction() as session:
            report = ed_evidence(SqlRiskRepository(session), hours, avoidable)
        metrics.set_evidence_gauges(report.summary)

    @app.timer(interval=settings.rescore_check_s, on_leader=False)
    async def daily_rescore() -> None:
        await asyncio.to_thread(rescore_if_new_day)

    @app.timer(interval=settings.evidence_refresh_s, on_leader=False)
    async def evidence_gauges() -> None:
        await asyncio.to_thread(refresh_evidence)

    return app
