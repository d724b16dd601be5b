"""The notifications worker: faust wiring, the dispatcher thread and the timers.

- One ``BatchConsumer`` over the topics of ``routes.ROUTES`` (``members.roster``,
  ``adt.events``, ``alerts.hospitalist``, ``care.transitions``, ``gaps.events``,
  ``outreach.tasks``): each batch's projections, notifications and deliveries are written in
  one transaction with its ``processed_events`` rows — a delivery is owed from the moment its
  event is consumed and committed, and a redelivered event owes nothing twice.
- The dispatcher (``app/dispatch.py``) runs on its own event loop in a thread, woken after each
  committed batch; several worker processes share the deliveries through database leases.
- Timers: the task-overdue sweep (``OVERDUE_INTERVAL_S``) and the backlog gauges.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from datetime import datetime, timedelta, timezone

import faust

from shared.consumer import BatchConsumer
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from . import metrics
from .adapters import dead_letters, gauges, wakeups
from .adapters.database import migrate
from .adapters.dispatch_sql import SqlDispatchStore
from .adapters.http_sender import HttpSender
from .adapters.intake_sql import SqlIntakeUnit
from .adapters.mllp_sender import ChannelSender, MllpSender
from .adapters.secretbox import SecretBox
from .app import intake
from .app.dispatch import DispatchConfig, Dispatcher
from .app.ports import AttemptResult, Leased
from .routes import ROUTES
from .settings import NotificationsSettings

log = logging.getLogger(__name__)


_CHILDREN: dict[tuple, tuple] = {}  # (subscription, channel, outcome) -> its metric children (bounded: ops-made subs)


def _children(sub_id: str, channel: str, outcome: str) -> tuple:
    key = (sub_id, channel, outcome)
    found = _CHILDREN.get(key)
    if found is None:
        if len(_CHILDREN) > 20_000:
            _CHILDREN.clear()
        found = _CHILDREN[key] = (metrics.ATTEMPTS.labels(sub_id, channel, outcome),
                                  metrics.ATTEMPT_SECONDS.labels(sub_id, channel),
                                  metrics.DELIVERY_LATENCY.labels(channel))
    return found


def count_recorded(results: list[AttemptResult], leased: list[Leased]) -> None:
    """Metrics of recorded attempts (after their transaction committed)."""
    by_id = {d.delivery_id: d for d in leased}
    now = datetime.now(timezone.utc)
    for r in results:
        if r.delivery_id is None:
            metrics.CONTROLS.labels(r.kind, "ok" if r.outcome.ok else "failed").inc()
            continue
        d = by_id.get(r.delivery_id)
        channel = d.subscription.channel if d else "unknown"
        attempts, seconds, latency = _children(r.subscription_id, channel, r.state if r.state != "pending" else "failed")
        attempts.inc()
        seconds.observe(r.outcome.latency_s)
        if r.state == "delivered" and d is not None:
            latency.observe(max(0.0, (now - d.notification.recorded_at).total_seconds()))


class DispatcherThread:
    """The dispatcher on its own event loop, so a busy faust loop never delays a delivery."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._main, name="notifications-dispatcher", daemon=True)

    def _main(self) -> None:
        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.dispatcher.run(self._stop)

        try:
            asyncio.run(run())
        except Exception:  # noqa: BLE001
            log.exception("the dispatcher stopped")

    def start(self) -> None:
        self.thread.start()

    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout)


def build_worker(settings: NotificationsSettings) -> faust.App:
    db = migrate(settings.resolved_database_url(), pre_ping=False)
    box = SecretBox.from_setting(settings.secrets_key.get_secret_value() if settings.secrets_key else None,
                                 settings.is_production())
    policy = settings.outbound_policy()
    owner = f"{socket.gethostname()}:{os.getpid()}"
    store = SqlDispatchStore(db, box)
    sender = ChannelSender(HttpSender(policy, ca_file=settings.outbound_ca_file),
                           MllpSender(policy, ca_file=settings.outbound_ca_file))
    dispatcher = Dispatcher(store, sender, DispatchConfig(
        owner=owner, base=settings.fhir_base(), canonical_base=settings.fhir_canonical_base,
        batch=settings.dispatch_batch, lease_s=settings.lease_s, poll_s=settings.dispatch_poll_s,
        reachability_s=settings.reachability_check_s),
        on_recorded=count_recorded)
    runner = DispatcherThread(dispatcher)
    listener = wakeups.Listener(settings.resolved_database_url(), dispatcher.wake)

    def owed(created: dict[str, int]) -> None:  # after a batch that made deliveries owed committed
        for topic, n in created.items():
            metrics.DELIVERIES_CREATED.labels(topic).inc(n)
        dispatcher.wake()

    producer = EventProducer(settings, "notifications-worker")
    consumer = BatchConsumer.for_routes(ROUTES, db, producer, lambda session: SqlIntakeUnit(session, on_owed=owed))
    app = create_app("notifications", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"db": db.ping(), "dispatcher": runner.alive()})
    consume(app, settings, None, consumer, batch_size=settings.worker_batch_size, within=settings.worker_within_s)
    tz = settings.tz()

    def sweep() -> None:
        with db.transaction() as s:
            uow = SqlIntakeUnit(s)
            now = datetime.now(timezone.utc)
            found = intake.sweep_overdue(uow, tz, now)
            uow.held.purge(now - timedelta(hours=settings.hold_unmatched_h))
            uow.flush()
            if found:
                wakeups.notify(s)
        if found:
            metrics.OVERDUE_FOUND.inc(found)
            dispatcher.wake()

    @app.timer(interval=settings.overdue_interval_s)
    async def overdue_sweep() -> None:
        try:
            await asyncio.to_thread(sweep)
        except Exception:  # noqa: BLE001 - the next tick tries again; nothing is lost (the tasks stay due)
            log.exception("overdue sweep failed")

    @app.timer(interval=settings.dead_letter_interval_s)
    async def publish_dead_letters() -> None:
        try:
            n = await asyncio.to_thread(dead_letters.publish, db, producer.send_sync, datetime.now(timezone.utc))
        except Exception:  # noqa: BLE001 - the broker or the database is away: the rows wait for the next tick
            log.warning("publishing dead letters failed; they stay kept and are tried again", exc_info=True)
            return
        if n:
            metrics.DEAD_PUBLISHED.inc(n)

    @app.timer(interval=settings.gauges_interval_s)
    async def refresh_gauges() -> None:
        try:
            await asyncio.to_thread(gauges.refresh, db)
        except Exception:  # noqa: BLE001 - gauges are best effort
            log.warning("gauge refresh failed", exc_info=True)

    @app.on_before_shutdown.connect
    def _stop_dispatcher(_app, **_kw) -> None:
        listener.stop()
        runner.stop()

    runner.start()
    listener.start()
    return app
