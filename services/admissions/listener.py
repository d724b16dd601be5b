"""The ``mllp`` process: the asyncio MLLP listener, the gateway on Kafka, and a small HTTP
server on ``mllp_metrics_port`` for ``/metrics`` (Prometheus) and ``/healthz``.

Bounded: at most ``mllp_max_connections`` connections, one message in flight per connection
(MLLP is sequential), the producer queue bounded by ``producer_max_in_flight``. If Kafka is
unreachable every message is answered AE 207 within ``publish_timeout_s`` (never AA), and
bad input cannot be dead-lettered either, so it gets AE 207 too ("send it again").

The database is not on the ACK path (accepted ACKs are written behind): the listener also
starts when it is unreachable, and creates its schema once it answers.

``/healthz`` is 200 while the listener accepts connections; the body also says whether the
latest write to Kafka was confirmed (``kafka_reachable``, null before the first), without
failing the check on it: a restart would not bring Kafka back, and answering AE is right.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from shared import metrics as shared_metrics
from shared.db import Database

from .adapters.database import connect, migrate
from .adapters.dedupe import WriteBehindDedupe
from .adapters.feed_quirks import QuirkTally
from .ingest import KafkaStatus, build_gateway, ingest_producer
from .mllp.server import MllpServer
from .mllp.tls import server_ssl_context
from .settings import AdmissionsSettings

log = logging.getLogger(__name__)


class _Health:
    def __init__(self) -> None:
        self.kafka = KafkaStatus()
        self.listening = False


async def _ops_site(settings: AdmissionsSettings, health: _Health) -> web.AppRunner:
    async def metrics_view(_request: web.Request) -> web.Response:
        body, ctype = shared_metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": ctype})

    async def healthz(_request: web.Request) -> web.Response:
        ok = health.listening
        return web.json_response({"service": "admissions", "process": "mllp", "ok": ok,
                                  "checks": {"listener": health.listening},
                                  "kafka_reachable": health.kafka.reachable()},
                                 status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.mllp_metrics_port).start()
    return runner


def tls_context(settings: AdmissionsSettings):
    if not settings.mllp_tls_cert:
        if settings.mllp_tls_require_client_cert:
            raise SystemExit("MLLP_TLS_REQUIRE_CLIENT_CERT needs MLLP_TLS_CERT (TLS) and MLLP_TLS_CLIENT_CA")
        return None
    return server_ssl_context(settings.mllp_tls_cert, settings.mllp_tls_key,
                              client_ca_file=settings.mllp_tls_client_ca,
                              require_client_cert=settings.mllp_tls_require_client_cert)


async def serve(settings: AdmissionsSettings) -> None:
    sys.setswitchinterval(settings.gil_switch_interval_s)  # delivery callbacks (poll thread) vs the loop
    ssl_ctx = tls_context(settings)
    db = connect(settings.resolved_database_url(), pool_size=2)
    schema = None
    try:
        await asyncio.to_thread(migrate, db)
    except Exception as exc:  # noqa: BLE001 - the ACK path does not need the database: listen anyway
        log.warning("database unreachable at start (%s); listening anyway, accepted ACKs are kept in memory "
                    "and written behind once it is back", exc.__class__.__name__)
        schema = asyncio.create_task(_schema_when_back(db), name="schema-when-back")
    dedupe = WriteBehindDedupe(db, capacity=settings.dedupe_memory_entries,
                               retention_days=settings.dedupe_retention_days)
    await dedupe.start()
    quirks = QuirkTally(db, settings.quirks_flush_s)
    await quirks.start()
    producer = ingest_producer(settings, "admissions-mllp")
    health = _Health()
    gateway = build_gateway(settings, producer, dedupe, "mllp", health.kafka, quirks)
    server = MllpServer(gateway, host=settings.listener_host(), port=settings.mllp_port, ssl=ssl_ctx,
                        idle_timeout=settings.mllp_idle_timeout_s, max_frame_bytes=settings.mllp_max_frame_bytes,
                        max_connections=settings.mllp_max_connections, reuse_port=settings.mllp_reuse_port)
    runner = await _ops_site(settings, health)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    health.listening = True
    try:
        await stop.wait()
    finally:
        log.info("stopping: closing the listener")
        health.listening = False
        if schema is not None:
            schema.cancel()
        await server.close(grace=5)
        await dedupe.close()
        await quirks.close()
        await asyncio.to_thread(producer.close, 5.0)
        await runner.cleanup()
        db.dispose()


async def _schema_when_back(db: Database, interval: float = 5.0) -> None:
    """Create the schema as soon as the database answers (the write-behind flushes retry meanwhile)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(migrate, db)
        except Exception:  # noqa: BLE001 - still away: try again
            continue
        log.info("database reachable again: schema ready")
        return


def run_mllp(settings: AdmissionsSettings) -> None:
    asyncio.run(serve(settings))
