"""The portal worker: faust wiring only. Consumes the topics of ``routes.TOPICS`` in batches
through the shared consumer (one transaction per batch, processed-events dedupe) and applies
each event with the use case its route names."""

from __future__ import annotations

from collections import Counter

import faust
from sqlalchemy.orm import Session

from shared.consumer import BatchConsumer
from shared.events import Event
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from . import metrics
from .adapters import tables
from .adapters.repositories import SqlUnitOfWork
from .routes import ACCEPTED, TOPICS, dispatch
from .settings import PortalSettings

CONSUMER_NAME = "portal.projection"


def handle(session: Session, events: list[Event]) -> list[Event]:
    uow = SqlUnitOfWork.bound(session)
    for event in events:
        dispatch(uow, event)
    return []


def count_applied(applied: list[Event], _derived: list[Event]) -> None:
    for event_type, n in Counter(e.event_type for e in applied).items():
        metrics.PROJECTION_EVENTS.labels(event_type).inc(n)
        if event_type == "portal.reply_sent":
            metrics.REPLIES_RECEIVED.inc(n)


def build_worker(settings: PortalSettings) -> faust.App:
    db = tables.open_database(settings.resolved_database_url())
    tables.create_schema(db)
    producer = EventProducer(settings, client_id="portal-worker")  # dead letters only
    app = create_app("portal", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"database": db.ping()})
    consumer = BatchConsumer(CONSUMER_NAME, db, producer, handle, expect=ACCEPTED, after_commit=count_applied)
    consume(app, settings, TOPICS, consumer, batch_size=settings.worker_batch_size, within=settings.worker_within_s)
    return app
