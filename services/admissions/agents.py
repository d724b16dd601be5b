"""Faust wiring of the admissions worker: ``members.roster`` + ``adt.events`` → one
``BatchConsumer`` (one agent, so one member's roster and ADT changes never race), small
batches (``batch_size``, ``batch_within_s`` = 50 ms) for a short admit-to-alert time, and a
timer refreshing the census and unmatched gauges every 5 s. The worker lowers its own CPU
priority by ``worker_nice`` (5): on shared cores the listener's ACKs go first."""

from __future__ import annotations

import asyncio
import os
import sys

import faust

from shared.audit import install_append_only_guard
from shared.consumer import BatchConsumer
from shared.db import Database
from shared.events import AdtEventV2, MemberRosterV1
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer
from shared.topics import ADT, ROSTER

from . import metrics, store
from .handlers import AdmissionsHandler
from .settings import AdmissionsSettings

CONSUMER = "admissions.worker"


def migrate(settings: AdmissionsSettings) -> Database:
    """The idempotent schema step (also run by the worker and the api at start)."""
    db = Database(settings.resolved_database_url(), store.metadata)
    db.create_schema()
    store.upgrade_columns(db.engine)
    install_append_only_guard(db.engine)
    return db


def build_worker(settings: AdmissionsSettings) -> faust.App:
    sys.setswitchinterval(settings.gil_switch_interval_s)  # the batch thread's DB round trips vs the loop
    if settings.worker_nice:
        os.nice(settings.worker_nice)  # the listener's ACKs first when both share the cores
    db = migrate(settings)
    producer = EventProducer(settings, "admissions-worker", **{"linger.ms": 1, "socket.nagle.disable": True})
    handler = AdmissionsHandler(settings.env(), full_parse_tz=settings.feed_tz() if settings.full_parse_audit else None)
    consumer = BatchConsumer(CONSUMER, db, producer, handler, expect=(AdtEventV2, MemberRosterV1))
    app = create_app("admissions", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"db": db.ping()})
    consume(app, settings, [ROSTER, ADT], consumer, batch_size=settings.batch_size, within=settings.batch_within_s)
    facilities: set[str] = set()

    def refresh() -> None:
        with db.transaction() as session:
            by_facility, unmatched = store.gauges(session)
        for facility in facilities - set(by_facility):
            metrics.CENSUS.labels(facility).set(0)
        for facility, n in by_facility.items():
            metrics.CENSUS.labels(facility).set(n)
        facilities.update(by_facility)
        metrics.UNMATCHED.set(unmatched)

    @app.timer(5.0)
    async def refresh_gauges() -> None:
        try:
            await asyncio.to_thread(refresh)
        except Exception:  # noqa: BLE001 - gauges are best effort; the next tick tries again
            pass

    return app
