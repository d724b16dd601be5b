"""``python -m services.portal worker``: the faust worker keeping the members' projection, wiring only.

Runs the routes table (``routes.py``: members.roster, alerts.hospitalist, care.transitions,
gaps.events, outreach.tasks, portal.messages, portal.replies → ``app/projection.py``) through the
shared consumer pipeline in batches: one transaction per batch with the processed-events dedupe,
the events counted once it committed, the batch's offsets committed after it.
"""

from __future__ import annotations

import faust

from shared.consumer import BatchConsumer
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from .adapters.database import open_database
from .adapters.unit_of_work import SqlUnitOfWork
from .routes import ROUTES
from .settings import PortalSettings


def build_worker(settings: PortalSettings) -> faust.App:
    db = open_database(settings.resolved_database_url())
    producer = EventProducer(settings, client_id="portal-worker")  # dead letters only
    app = create_app("portal", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"database": db.ping()})
    consumer = BatchConsumer.for_routes(ROUTES, db, producer, SqlUnitOfWork.for_session)
    consume(app, settings, None, consumer, batch_size=settings.worker_batch_size, within=settings.worker_within_s)
    return app
