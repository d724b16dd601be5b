"""``python -m services.admissions worker``: the faust worker, wiring only.

Runs the routes table (``routes.py``: members.roster and adt.events → ``app/handlers.py``)
through the shared consumer pipeline — one agent, so one member's roster and ADT changes never
race; small batches (``BATCH_SIZE``, ``BATCH_WITHIN_S`` = 50 ms) for a short admit-to-alert
time; one transaction per batch with the processed-events dedupe; alerts and transitions
confirmed by Kafka before the commit, the batch's offsets committed after it — and a timer
refreshing the census and unmatched gauges every 5 s (``app/gauges.py``). The worker lowers its
own CPU priority by ``WORKER_NICE`` (5): on shared cores the listener's ACKs go first.
"""

from __future__ import annotations

import asyncio
import os
import sys

import faust

from shared.consumer import BatchConsumer
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from .adapters.database import open_database
from .adapters.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from .app.batch import AdmissionsBatch
from .app.gauges import Gauges
from .routes import ROUTES
from .settings import AdmissionsSettings


def build_worker(settings: AdmissionsSettings) -> faust.App:
    sys.setswitchinterval(settings.gil_switch_interval_s)  # the batch thread's DB round trips vs the loop
    if settings.worker_nice:
        os.nice(settings.worker_nice)  # the listener's ACKs first when both share the cores
    db = open_database(settings.resolved_database_url())
    producer = EventProducer(settings, "admissions-worker", **{"linger.ms": 1, "socket.nagle.disable": True})
    begin = AdmissionsBatch.starter(settings.env(),
                                    full_parse_tz=settings.feed_tz() if settings.full_parse_audit else None)
    consumer = BatchConsumer.for_routes(ROUTES, db, producer, SqlUnitOfWork.for_session, begin=begin)
    app = create_app("admissions", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"db": db.ping()})
    consume(app, settings, None, consumer, batch_size=settings.batch_size, within=settings.batch_within_s)
    gauges = Gauges(unit_of_work_factory(db))

    @app.timer(5.0)
    async def refresh_gauges() -> None:
        try:
            await asyncio.to_thread(gauges.refresh)
        except Exception:  # noqa: BLE001 - gauges are best effort; the next tick tries again
            pass

    return app
