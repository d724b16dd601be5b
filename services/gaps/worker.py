"""``python -m services.gaps worker``: the faust worker, wiring only.

Runs the routes table (``routes.py``: members.roster, claims.events, care.transitions →
``app/handlers.py``) through the shared consumer pipeline in batches — one transaction per batch
with the processed-events dedupe, the members the batch touched re-evaluated, the status changes
to ``gaps.events`` confirmed before the commit, the batch's offsets committed after it — and a
timer (``app/maintenance.py``) that refreshes ``gaps_open`` and runs the daily re-evaluation.

A batch and a re-evaluation chunk of this process never interleave: both open their
transactions under one lock (``adapters/unit_of_work.Serialized``). The worker runs the
idempotent schema step at start, like ``python -m services.gaps migrate``.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import faust

from shared.consumer import BatchConsumer
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from .adapters.database import open_database
from .adapters.unit_of_work import Serialized, SqlUnitOfWork, unit_of_work_factory
from .app.batch import GapsBatch
from .app.evaluation import Evaluator
from .app.maintenance import Maintenance
from .app.reevaluation import Reevaluation
from .routes import ROUTES
from .settings import GapsSettings

log = logging.getLogger(__name__)


def build_worker(settings: GapsSettings) -> faust.App:
    db = open_database(settings)
    evaluator = Evaluator(settings, settings.load_codes())
    producer = EventProducer(settings, client_id="gaps-worker")
    lock = threading.Lock()
    consumer = BatchConsumer.for_routes(ROUTES, Serialized(db, lock), producer, SqlUnitOfWork.for_session,
                                        begin=GapsBatch.starter(evaluator))
    app = create_app("gaps", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"db": db.ping()})
    consume(app, settings, None, consumer, batch_size=settings.worker_batch_size, within=settings.worker_within_s,
            # throughput-bound: a member's state is loaded and written once per batch
            fill_after_batch=True)
    reevaluation = Reevaluation(unit_of_work_factory(db, producer, lock=lock), evaluator,
                                chunk=settings.reevaluate_chunk)
    maintenance = Maintenance(settings, unit_of_work_factory(db), reevaluation)

    @app.timer(settings.maintenance_interval_s, name="gaps_maintenance")
    async def maintain() -> None:
        try:
            await asyncio.to_thread(maintenance.tick)
        except Exception as exc:  # noqa: BLE001 - each chunk rolled back; the next tick retries
            # The class only: database errors can quote row values (member ids).
            log.error("maintenance failed (%s); retrying at the next tick", exc.__class__.__name__)

    return app
