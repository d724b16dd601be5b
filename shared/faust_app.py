"""The faust-streaming app every service's worker is built on, and the consuming loop.

Offsets are committed by our code, explicitly, never by faust. How faust would do it: a stream
*acks* each event after the agent's loop body (``stream.take_events`` acks a batch in a
``finally`` — even when the body raised, once the generator is closed), acked offsets join a
per-partition list, and a timer (``broker_commit_interval``), every ``broker_commit_every``
acks, a rebalance and the shutdown (after ``stream_wait_empty`` waited for unacked events)
commit the highest contiguous acked offset + 1. aiokafka's own ``enable_auto_commit`` is off.
That is at-least-once only while nothing acks a batch that was not applied; the guarantee used
to rest on the process dying (``os._exit``) before that ``finally`` could run.

``consume`` therefore subscribes with ``acks=False``: faust tracks, acks and commits nothing on
these topics. After ``BatchConsumer.process`` returned — the batch's transaction committed, or
its bad records dead-lettered — ``consume`` commits, per partition, the batch's last offset + 1
and waits for the broker's answer (arroyo's rule: commit what was processed, the next offset to
read). A failed batch is never committed and its consumer commits nothing after it; records
fetched before a rebalance (an older generation) are not committed by us — their partition's new
owner reads them again and drops them as duplicates. A commit for a partition this worker no
longer owns is refused by Kafka, counted (``ccp_consumer_offset_commits_total{outcome="not_owned"}``)
and harmless for the same reason. On shutdown the batch in flight finishes its transaction and
its offsets are committed when the consumer still can (arroyo's forced commit on close).

The worker's web server serves ``/metrics`` (Prometheus) and ``/healthz``. Consumer lag is
exported from the broker's side by ``carectl.lag_exporter`` (visible even when a worker is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence

import faust
from faust.web import Request, Response, View

from . import metrics
from .batching import batches
from .consumer import EXIT_UNPROCESSED, BatchConsumer, Record
from .settings import CommonSettings

# Where a test may stop the loop: a batch received (nothing applied), applied (its transaction
# committed, its offsets not yet), committed (offsets committed).
STEPS = ("received", "applied", "committed")
Observer = Callable[[str, Sequence[Record]], None]

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
    # Checks ``consume`` adds for its pipeline (the Kafka producer's delivery thread is running).
    app.conf.ccp_checks = {}  # type: ignore[attr-defined]
    _install_worker_watchdog(app, service)

    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            body, ctype = metrics.exposition()
            return self.bytes(body, content_type=ctype.split(";")[0])

    @app.page("/healthz")
    class HealthView(View):
        async def get(self, request: Request) -> Response:
            checks = dict(health() if health else {})
            checks.update({name: check() for name, check in app.conf.ccp_checks.items()})  # type: ignore[attr-defined]
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
    topics: Sequence[str] | None,
    processor: BatchConsumer,
    *,
    batch_size: int = 500,
    within: float = 0.2,
    fill_after_batch: bool = False,
    observe: Observer | None = None,
) -> None:
    """Route ``topics`` (registry names, un-prefixed; ``None``: the processor's routes table) to
    ``processor`` in batches, committing each batch's offsets after it was applied.

    Batches are cut by ``batches(…, batch_size, within)``: an event that arrived during a batch
    follows it at once. ``fill_after_batch`` is for consumers whose cost is per batch rather than
    per event (a member's state read and written once per transaction: gaps, billing, risk): a
    batch then keeps filling for ``within`` after the previous one (faust's ``take_events``, which
    also reads nothing while a batch is applied), so a feed arriving at about the worker's pace is
    applied in fewer, fuller transactions. ``observe(step, records)`` is called at each of
    ``STEPS`` (tests kill the worker there)."""
    if topics is None:
        if processor.routes is None:
            raise ValueError("consume: name the topics, or give a processor built from a routes table")
        topics = processor.routes.topics()
    channel = app.topic(*[settings.topic(t) for t in topics], key_serializer="raw", value_serializer="raw",
                        allow_empty=True, acks=False)
    offsets = OffsetCommitter(app, processor.name)
    alive = getattr(processor.producer, "alive", None)
    if alive is not None:
        # A producer whose delivery thread ended confirms no write: the batch waits, then fails.
        app.conf.ccp_checks["kafka_producer"] = alive  # type: ignore[attr-defined]

    async def agent(stream):
        # Batch N's commit runs while batch N+1 is taken and applied: the loop waits for it only
        # before issuing N+1's (commits stay in order, each after its own batch was applied). A
        # worker that stops with a commit in flight redelivers that batch, skipped as duplicates.
        pending: asyncio.Task | None = None
        try:
            taken = (stream.take_events(batch_size, within) if fill_after_batch
                     else batches(stream.events(), batch_size, within))
            async with contextlib.aclosing(taken):
                async for events in taken:
                    records = _records(events)
                    if observe:
                        observe("received", records)
                    try:
                        await processor.process(records)
                    except asyncio.CancelledError:
                        if processor.last_applied is records and processor.failed is None:
                            await offsets.settle(pending)
                            pending = None
                            await offsets.commit_on_stop(events)
                        raise
                    if observe:
                        observe("applied", records)
                    if pending is not None:
                        await pending  # raises what the previous commit raised
                    pending = asyncio.ensure_future(offsets.commit(events, observe, records))
        finally:
            await offsets.settle(pending)

    agent.__name__ = agent.__qualname__ = f"consume_{processor.name.replace('.', '_').replace('-', '_')}"
    app.agent(channel, name=processor.name)(agent)


class OffsetCommitter:
    """Commits a batch's offsets (last offset + 1 per partition) once the batch was applied."""

    def __init__(self, app: faust.App, consumer: str) -> None:
        self.app = app
        self.consumer = consumer
        self._committed = metrics.OFFSET_COMMITS.labels(consumer, "committed")
        self._not_owned = metrics.OFFSET_COMMITS.labels(consumer, "not_owned")

    def offsets(self, events) -> dict:
        """{TP: next offset} of the events fetched in the current generation of the group."""
        generation = self.app.consumer_generation_id
        out: dict = {}
        for event in events:
            message = event.message
            if message.generation_id != generation:
                continue  # fetched before a rebalance: the partition's owner now reads it again
            nxt = message.offset + 1
            if nxt > out.get(message.tp, -1):
                out[message.tp] = nxt
        return out

    async def commit(self, events, observe: Observer | None = None, records: list[Record] | None = None) -> bool:
        ok = await self._commit(events)
        if observe is not None and records is not None:
            observe("committed", records)
        return ok

    async def settle(self, pending: asyncio.Task | None) -> None:
        """Wait (at most 5 s) for a commit still in flight when the loop stops."""
        if pending is None or pending.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(pending), 5.0)
        except BaseException as exc:  # noqa: BLE001 - stopping anyway; that batch is redelivered and skipped
            log.info("%s: offsets not committed while stopping (%s); the batch will be skipped as duplicates",
                     self.consumer, exc.__class__.__name__)

    async def _commit(self, events) -> bool:
        offsets = self.offsets(events)
        if not offsets:
            return True
        owned = set(self.app.consumer.assignment())
        # ThreadDelegateConsumer._commit: aiokafka's commit of exactly these offsets, on the
        # consumer's thread, awaited (faust's public ``commit()`` commits acked offsets only).
        ok = await self.app.consumer._commit({tp: o for tp, o in offsets.items() if tp in owned})
        if ok and len(owned.intersection(offsets)) == len(offsets):
            self._committed.inc()
            return True
        self._not_owned.inc()
        log.warning("%s: offsets of %d partition(s) not committed (reassigned meanwhile); their records are "
                    "redelivered to the new owner and skipped as duplicates", self.consumer, len(offsets))
        return False

    async def commit_on_stop(self, events) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self._commit(events)), 5.0)
        except BaseException as exc:  # noqa: BLE001 - stopping anyway; the batch is redelivered and skipped
            log.info("%s: offsets not committed while stopping (%s); the batch will be skipped as duplicates",
                     self.consumer, exc.__class__.__name__)


def _records(events) -> list[Record]:
    return [Record(topic=e.message.topic, partition=e.message.partition, offset=e.message.offset,
                   key=e.message.key, value=e.message.value, headers=list(_headers(e.message.headers)))
            for e in events]


def _headers(headers) -> list[tuple[str, bytes]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(k, v if isinstance(v, bytes) else (v or b"")) for k, v in items]
