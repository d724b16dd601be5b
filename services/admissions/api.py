"""``python -m services.admissions api``: the admissions HTTP API, wiring only.

The JSON API (``web/json_api.py``: census, the alert inbox and its Server-Sent Events stream,
encounters, the feed-quirks report), the HTTP ingest (``web/ingest.py``: the same gateway as
MLLP, ``ingest.py``) and the hospitalist's page (``web/hospitalist_pages.py``, on the platform's
web kit ``shared.web``; its logouts in the ``revoked_sessions`` table) in one FastAPI app,
served by uvicorn, with ``/metrics`` and ``/healthz`` (database, alert stream tailing Kafka).
The database bootstrap runs (idempotently) when the app is created. The API process imports no
faust (``tests/unit/test_entry_points.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.auth import load_directory
from shared.http import install_error_handlers, ops_router
from shared.web.kit import install_page_headers
from shared.web.revocations import SqlRevokedSessions

from .adapters.alert_tail import AlertTail
from .adapters.database import open_database
from .adapters.dedupe import WriteBehindDedupe
from .adapters.feed_quirks import QuirkTally
from .adapters.tables import revoked_sessions
from .adapters.unit_of_work import unit_of_work_factory
from .app.alert_feed import AlertFeed
from .app.queries import Reads
from .ingest import build_gateway, ingest_producer
from .mllp.gateway import AdtGateway
from .settings import AdmissionsSettings
from .web.hospitalist_pages import hospitalist_router
from .web.ingest import ingest_router
from .web.json_api import json_router

# the JSON API and the ingest answer machines: the page headers (CSP, nosniff, ...) are the page's
JSON_PREFIXES = ("/census/", "/alerts", "/members/", "/feeds/", "/ingest/")


def create_api(settings: AdmissionsSettings) -> FastAPI:
    db = open_database(settings.resolved_database_url())
    directory = load_directory(settings.users_file, settings.environment)
    reads = Reads(unit_of_work_factory(db))
    feed = AlertFeed()
    tail = AlertTail(settings, feed)
    parts: dict[str, AdtGateway] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        producer = ingest_producer(settings, "admissions-api")
        dedupe = WriteBehindDedupe(db, capacity=min(settings.dedupe_memory_entries, 100_000),
                                   retention_days=settings.dedupe_retention_days)
        await dedupe.start()
        tally = QuirkTally(db, settings.quirks_flush_s)
        await tally.start()
        parts["gateway"] = build_gateway(settings, producer, dedupe, "http", quirks=tally)
        tail.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            tail.stop()
            await dedupe.close()
            await tally.close()
            await asyncio.to_thread(producer.close, 5.0)
            db.dispose()

    app = FastAPI(title="Admissions", version="1", lifespan=lifespan,
                  description="Census, hospitalist alert inbox and stream, encounters, HTTP ingest of ADT.")
    install_error_handlers(app)
    install_page_headers(app, skip_prefixes=JSON_PREFIXES)
    app.include_router(ops_router("admissions", "api", lambda: {"db": db.ping(), "alert_stream": tail.ready}))
    app.include_router(hospitalist_router(settings, reads, directory, feed, SqlRevokedSessions(db, revoked_sessions)))
    app.include_router(json_router(reads, directory, feed, keepalive_s=settings.sse_keepalive_s))
    app.include_router(ingest_router(settings, directory, lambda: parts["gateway"]))
    return app
