"""The outreach worker: faust wiring only.

Consumes ``gaps.events``, ``care.transitions``, ``members.roster`` and ``claims.events`` (the
diagnoses on claims trigger the social-needs and dietician referrals) in batches through
``BatchConsumer`` (one transaction per batch with the processed-events dedupe; lifecycle events
to ``outreach.tasks`` confirmed before the commit). A timer refreshes the queue gauges and runs
the daily eligibility sweep and rescore (``maintenance.py``).
"""

from __future__ import annotations

import asyncio

import faust

from shared.auth import load_directory
from shared.consumer import BatchConsumer
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from . import store
from .directory import Staff
from .handlers import CONSUMED, TaskHandler
from .maintenance import Maintenance
from .settings import OutreachSettings

TOPICS = ("gaps.events", "care.transitions", "members.roster", "claims.events", "portal.messages",
          "risk.tiers")
CONSUMER_NAME = "outreach.tasks"


def build_worker(settings: OutreachSettings) -> faust.App:
    db = store.open_database(settings.resolved_database_url())
    store.create_schema(db)
    staff = Staff(load_directory(settings.users_file, settings.environment))
    ctx = settings.decision_context()
    producer = EventProducer(settings, client_id="outreach-worker")
    handler = TaskHandler(ctx, staff)
    app = create_app("outreach", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"database": db.ping()})
    consume(app, settings, TOPICS, BatchConsumer(CONSUMER_NAME, db, producer, handler, expect=CONSUMED),
            batch_size=settings.worker_batch_size, within=settings.worker_within_s)
    jobs = Maintenance(db, producer, ctx)

    @app.timer(interval=settings.maintenance_interval_s)
    async def maintenance() -> None:
        await asyncio.to_thread(jobs.tick)

    return app
