"""``python -m services.outreach worker``: the faust worker, wiring only.

Runs the routes table (``routes.py``: gaps.events, care.transitions, members.roster and
claims.events → ``app/handlers.py``) through the shared consumer pipeline in batches — one
transaction per batch with the processed-events dedupe, lifecycle events to ``outreach.tasks``
confirmed before the commit, the batch's offsets committed after it — and a timer that refreshes
the queue gauges and runs the daily eligibility sweep and rescore (``app/maintenance.py``).
"""

from __future__ import annotations

import asyncio

import faust

from shared.auth import load_directory
from shared.consumer import BatchConsumer
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from .adapters.database import open_database
from .adapters.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from .app.batch import TaskBatch
from .app.maintenance import Maintenance
from .app.staff import Staff
from .routes import ROUTES
from .settings import OutreachSettings


def build_worker(settings: OutreachSettings) -> faust.App:
    db = open_database(settings.resolved_database_url())
    staff = Staff(load_directory(settings.users_file, settings.environment))
    ctx = settings.decision_context()
    producer = EventProducer(settings, client_id="outreach-worker")
    consumer = BatchConsumer.for_routes(ROUTES, db, producer, SqlUnitOfWork.for_session,
                                        begin=TaskBatch.starter(ctx, staff))
    app = create_app("outreach", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"database": db.ping()})
    consume(app, settings, None, consumer, batch_size=settings.worker_batch_size, within=settings.worker_within_s)
    jobs = Maintenance(unit_of_work_factory(db, producer), ctx)

    @app.timer(interval=settings.maintenance_interval_s)
    async def maintenance() -> None:
        await asyncio.to_thread(jobs.tick)

    return app
