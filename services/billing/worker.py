"""``python -m services.billing worker``: the faust worker, wiring only.

Runs the routes table (``routes.py``: members.roster, claims.events, gaps.events,
care.transitions, outreach.tasks, risk.tiers → ``app/handlers.py``) through the shared consumer
pipeline in batches — one transaction per batch under the ledger lock with the processed-events
dedupe, ledger entries to ``billing.accruals`` confirmed before the commit, the batch's offsets
committed after it — and a timer (``app/maintenance.py``) that opens a month when the calendar
turns, re-accrues after a contract load, settles the contract estimates left dirty, and keeps the
ledger gauges (``app/gauges.py``).
"""

from __future__ import annotations

import asyncio
import logging

import faust

from shared.consumer import BatchConsumer
from shared.errors import TransientError
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from . import metrics
from .adapters.unit_of_work import SqlUnitOfWork
from .adapters.wiring import accruals as make_accruals, storage
from .app.batch import LedgerBatch
from .app.gauges import LedgerGauges
from .app.maintenance import Maintenance
from .app.ports import StoreUnavailable
from .routes import ROUTES
from .settings import BillingSettings

log = logging.getLogger(__name__)


def build_worker(settings: BillingSettings) -> faust.App:
    producer = EventProducer(settings, client_id="billing-worker")
    store = storage(settings, producer)
    metrics.serve_ledger_gauges()
    gauges = LedgerGauges(store.uow)
    gauges.refresh(force=True)
    gauges.refresh_held()
    accruals = make_accruals(settings)
    # the batches' transactions are opened under the ledger lock (one writer at a time)
    consumer = BatchConsumer.for_routes(ROUTES, store.lock, producer, SqlUnitOfWork.for_session,
                                        begin=LedgerBatch.starter(accruals))
    app = create_app("billing", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"database": store.db.ping()})
    consume(app, settings, None, consumer, batch_size=settings.batch_size, within=settings.batch_within_s,
            # throughput-bound: a member's ledger rows are read and written once per batch
            fill_after_batch=True)
    jobs = Maintenance(store.uow, accruals)

    @app.timer(interval=max(settings.estimate_interval_s, 0.5))
    async def maintenance() -> None:
        try:
            await asyncio.to_thread(jobs.run, False)
            await asyncio.to_thread(gauges.refresh)
            await asyncio.to_thread(gauges.refresh_held)
        except (StoreUnavailable, TransientError) as exc:
            # the database or the broker is away: nothing was committed; the next tick retries
            log.warning("billing maintenance failed (%s); retrying on the next tick", exc.__class__.__name__)

    return app
