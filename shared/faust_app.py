"""The faust-streaming app every service's worker is built on.

At-least-once: faust acknowledges a batch's events only after ``BatchConsumer.process``
returned (``stream.take_events`` acks in its ``finally``), and ``process`` returns only when
the batch is committed to the database or dead-lettered — otherwise the process exits without
acknowledging (see ``shared.consumer``). Offsets are committed every second and on shutdown.

The worker's web server serves ``/metrics`` (Prometheus) and ``/healthz``. Consumer lag is
exported from the broker's side by ``carectl.lag_exporter`` (visible even when a worker is down).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import faust
from faust.web import Request, Response, View

from . import metrics
from .consumer import EXIT_UNPROCESSED, BatchConsumer, Record
from .settings import CommonSettings

log = logging.getLogger(__name__)


def faust_broker_options(settings: CommonSettings) -> dict:
    """Broker URL and credentials for faust (aiokafka) from the common settings."""
    servers = ";".join(f"kafka://{s.strip()}" for s in settings.kafka_bootstrap.split(",") if s.strip())
    opts: dict = {"broker": servers}
    proto = settings.kafka_security_protocol
    if proto == "PLAINTEXT":
        return opts
    import ssl

    ctx = None
    if proto in ("SSL", "SASL_SSL"):
        ctx = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
        if settings.kafka_ssl_certfile:
            ctx.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    if proto.startswith("SASL"):
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        opts["broker_credentials"] = faust.SASLCredentials(
            username=settings.kafka_sasl_username or "", password=password,
            mechanism=settings.kafka_sasl_mechanism, ssl_context=ctx,
        )
    elif ctx is not None:
        opts["broker_credentials"] = faust.SSLCredentials(ctx)
    return opts


def create_app(
    service: str,
    settings: CommonSettings,
    *,
    web_port: int,
    web_host: str = "127.0.0.1",
    health: Callable[[], dict[str, bool]] | None = None,
    **overrides,
) -> faust.App:
    app = faust.App(
        settings.group_id(),
        **faust_broker_options(settings),
        store="memory://",
        autodiscover=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_commit_every=1000,
        broker_max_poll_records=1000,
        stream_buffer_maxsize=4000,
        stream_wait_empty=True,
        web_enabled=True,
        web_port=web_port,
        web_bind=web_host,
        web_in_thread=False,
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        # A worker that dies (SIGKILL, OOM) keeps its partitions until its session expires: faust's
        # 60 s default stalled them a minute after every crash, even when the supervisor restarted
        # the worker at once (tests/reliability). Heartbeats run on the event loop; handlers run in
        # a thread, so a long batch does not miss them.
        broker_session_timeout=15.0,
        broker_heartbeat_interval=3.0,
        **overrides,
    )
    app.conf.ccp_service = service  # type: ignore[attr-defined]
    _install_worker_watchdog(app, service)

    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            body, ctype = metrics.exposition()
            return self.bytes(body, content_type=ctype.split(";")[0])

    @app.page("/healthz")
    class HealthView(View):
        async def get(self, request: Request) -> Response:
            checks = health() if health else {}
            ok = all(checks.values())
            return self.json({"service": service, "process": "worker", "ok": ok, "checks": checks},
                             status=200 if ok else 503)

    return app


# Two ways a faust worker can stall while its process stays up (the web server keeps answering,
# nothing is consumed, the supervisor never notices):
# - the fetcher (faust's task that reads Kafka and feeds every agent) dies when
#   ``Consumer._drain_messages`` raises ("Drain messages raised" in the log);
# - a stop (SIGTERM, or faust's reaction to that crash) hangs in "Wait for streams...".
# A watchdog thread (it must not depend on the event loop that may hang) ends such a process
# with EX_TEMPFAIL so the supervisor (ccp up, compose restart policy, Kubernetes) restarts it.
# Ending abruptly is safe by construction: offsets are committed only after a batch's effects,
# so an unfinished batch is redelivered and applied once (processed_events).
WATCHDOG_INTERVAL_S = 1.0
FETCHER_DEAD_GRACE_S = 15.0
STOP_GRACE_S = 30.0


def watchdog_verdict(*, fetcher_crashed_for: float, stopping_for: float) -> str | None:
    """Why the worker must be ended now, or None. ``fetcher_crashed_for``: seconds the fetcher has
    been crashed outside a rebalance (faust stops, may crash and restarts it during one, on
    purpose); ``stopping_for``: seconds since the app began to stop (0 when running)."""
    if fetcher_crashed_for >= FETCHER_DEAD_GRACE_S:
        return f"the Kafka fetcher has stopped for {fetcher_crashed_for:.0f} s outside a rebalance"
    if stopping_for >= STOP_GRACE_S:
        return f"stopping has taken {stopping_for:.0f} s (streams never drained)"
    return None


def _install_worker_watchdog(app: faust.App, service: str) -> None:
    import threading
    import time

    def watch() -> None:
        crashed_since = stopping_since = None
        while True:
            time.sleep(WATCHDOG_INTERVAL_S)
            now = time.monotonic()
            fetcher = app.__dict__.get("_fetcher")  # a cached_property: absent until faust creates it
            if fetcher is not None and fetcher.crashed and not app.rebalancing:
                crashed_since = crashed_since or now
            else:
                crashed_since = None
            if app.started and app._stopped.is_set():
                stopping_since = stopping_since or now
            why = watchdog_verdict(fetcher_crashed_for=now - crashed_since if crashed_since else 0.0,
                                   stopping_for=now - stopping_since if stopping_since else 0.0)
            if why:
                log.critical("%s worker: %s; exiting with %d so the supervisor restarts it (unfinished batches "
                             "are redelivered)", service, why, EXIT_UNPROCESSED)
                logging.shutdown()
                os._exit(EXIT_UNPROCESSED)

    threading.Thread(target=watch, name=f"{service}-worker-watchdog", daemon=True).start()


def consume(
    app: faust.App,
    settings: CommonSettings,
    topics: Sequence[str],
    processor: BatchConsumer,
    *,
    batch_size: int = 500,
    within: float = 0.2,
) -> None:
    """Route ``topics`` (registry names, un-prefixed) to ``processor`` in batches."""
    channel = app.topic(*[settings.topic(t) for t in topics], key_serializer="raw", value_serializer="raw",
                        allow_empty=True)

    async def agent(stream):
        async for events in stream.take_events(batch_size, within):
            records = [
                Record(
                    topic=e.message.topic,
                    partition=e.message.partition,
                    offset=e.message.offset,
                    key=e.message.key,
                    value=e.message.value,
                    headers=list(_headers(e.message.headers)),
                )
                for e in events
            ]
            await processor.process(records)

    agent.__name__ = agent.__qualname__ = f"consume_{processor.name.replace('.', '_').replace('-', '_')}"
    app.agent(channel, name=processor.name)(agent)


def _headers(headers) -> list[tuple[str, bytes]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(k, v if isinstance(v, bytes) else (v or b"")) for k, v in items]
