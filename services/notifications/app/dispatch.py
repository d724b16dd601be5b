"""The dispatcher: lease owed deliveries, build each payload, send, decide, record.

One loop per worker process, on its own thread (several processes share the work through
database leases, see ``adapters/dispatch_sql.py``). Each iteration records finished attempts in
the background (one transaction for many), leases as many deliveries as the subscriptions'
windows allow and starts sending them (several requests in flight per subscription, up to its
``max_in_flight``; only each member's oldest owed delivery is ever leased, so a member's next
event waits for the previous one while other members go in parallel); it sleeps only when there
is nothing to do, until woken (this process's batch committed new deliveries, PostgreSQL's
notification of another process's or the API's, a send finished) or ``poll_s`` passed. Once a
second: subscriptions past their end turn off, handshakes and heartbeats; every
``reachability_s``: receivers that were down are tried with a bare connection. The decisions are
pure (``decisions.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..domain import fhir_subscriptions, payloads, webhooks
from ..domain import topics as t
from ..domain.retry import Outcome
from .decisions import batches, decide
from .ports import AttemptResult, Control, DispatchStore, Leased, Sender

log = logging.getLogger(__name__)


@dataclass
class DispatchConfig:
    owner: str
    base: str  # our FHIR base, e.g. https://ccp.example.org/fhir
    canonical_base: str
    batch: int = 500
    lease_s: float = 60.0
    poll_s: float = 0.5
    record_every_s: float = 0.01
    reachability_s: float = 2.0  # how often a receiver that was down is tried with a bare connection


@dataclass
class _State:
    results: list[AttemptResult] = field(default_factory=list)
    in_flight: int = 0


class Dispatcher:
    def __init__(self, store: DispatchStore, sender: Sender, config: DispatchConfig,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 on_recorded: Callable[[list[AttemptResult], list[Leased]], None] | None = None) -> None:
        self.store = store
        self.sender = sender
        self.config = config
        self.clock = clock
        self.on_recorded = on_recorded
        self._state = _State()
        self._leased: dict[int, Leased] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()
        self._gates: dict[str, tuple[int, asyncio.Semaphore]] = {}
        self.max_in_flight = max(1, config.batch * 2)

    # ------------------------------------------------------------------ wake-up from other threads
    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        next_controls = 0.0
        next_reach = 0.0
        reaching: asyncio.Task | None = None
        oldest_result = 0.0
        next_lease = 0.0  # lease when something may have changed: a record, a wake-up, a lease that found work, a poll
        recorder: asyncio.Task | None = None
        try:
            while not stop.is_set():
                busy = False
                if recorder is not None and recorder.done():
                    recorder = None
                    next_lease = 0.0  # recorded attempts free window room
                    busy = True
                if self._state.results and recorder is None:
                    # record in batches, in the background (one transaction for many attempts, at most
                    # record_every_s late) while the loop goes on leasing and sending
                    oldest_result = oldest_result or time.monotonic()
                    if (len(self._state.results) >= self.config.batch // 4 or self._state.in_flight == 0
                            or time.monotonic() - oldest_result >= self.config.record_every_s):
                        recorder = asyncio.ensure_future(self._record())
                        recorder.add_done_callback(lambda _t: self._wake.set() if self._wake else None)
                        oldest_result = 0.0
                if self._wake.is_set():
                    next_lease = 0.0
                if self._state.in_flight < self.max_in_flight and time.monotonic() >= next_lease:
                    found = await self._lease()
                    busy |= found
                    next_lease = 0.0 if found else time.monotonic() + self.config.poll_s
                if time.monotonic() >= next_controls:
                    next_controls = time.monotonic() + 1.0
                    busy |= await self._controls()
                if time.monotonic() >= next_reach and (reaching is None or reaching.done()):
                    next_reach = time.monotonic() + self.config.reachability_s
                    reaching = asyncio.ensure_future(self._reach())
                if not busy:
                    self._wake.clear()
                    timeout = self.config.record_every_s if (self._state.in_flight or self._state.results) \
                        else self.config.poll_s
                    with contextlib.suppress(asyncio.TimeoutError):  # woken, or time to record/poll
                        await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            if reaching is not None:
                reaching.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
            if recorder is not None:
                await recorder
            await self._record()
            await self.sender.close()

    async def _record(self) -> bool:
        results, self._state.results = self._state.results, []
        if not results:
            return False
        try:
            await asyncio.to_thread(self.store.record, results, self.clock(), self.config.owner)
        except Exception:  # noqa: BLE001 - the leases expire and the deliveries are sent again (same ids)
            log.exception("recording %d attempts failed; their deliveries will be retried after the lease", len(results))
            return True
        if self.on_recorded:
            leased = [self._leased.pop(r.delivery_id) for r in results if r.delivery_id in self._leased]
            self.on_recorded(results, leased)
        else:
            for r in results:
                self._leased.pop(r.delivery_id or -1, None)
        return True

    def _gate(self, sub) -> asyncio.Semaphore:
        """At most ``max_in_flight`` requests open to a subscription's receiver at a time (more may be
        leased and waiting: the lease window is a few times the concurrency, so the next requests are
        ready the moment one finishes)."""
        gate = self._gates.get(sub.id)
        if gate is None or gate[0] != sub.max_in_flight:
            gate = self._gates[sub.id] = (sub.max_in_flight, asyncio.Semaphore(sub.max_in_flight))
        return gate[1]

    async def _lease(self) -> bool:
        now = self.clock()
        until = now + timedelta(seconds=self.config.lease_s)
        room = min(self.config.batch, self.max_in_flight - self._state.in_flight)
        try:
            leased = await asyncio.to_thread(self.store.lease, now, self.config.owner, until, room)
        except Exception:  # noqa: BLE001 - the database is down: try again at the next poll
            log.exception("leasing deliveries failed")
            return False
        for d in leased:
            self._leased[d.delivery_id] = d
        for batch in batches(leased):
            self._spawn(self._deliver(batch))
        return bool(leased)

    async def _reach(self) -> None:
        """Receivers that were down (the last attempt could not connect) are tried with a bare
        connection every ``reachability_s``; one that accepts gets its probe now rather than at the
        end of its backoff (up to a minute), so a backlog starts draining within seconds of the
        receiver's return. Nothing is sent and no attempt is counted by this check."""
        now = self.clock()
        try:
            down = await asyncio.to_thread(self.store.unreachable, now)
        except Exception:  # noqa: BLE001 - the next round tries again
            log.warning("looking for unreachable receivers failed", exc_info=True)
            return
        for sub in down:
            try:
                if await self.sender.reachable(sub) and await asyncio.to_thread(self.store.probe_now, sub.id,
                                                                                 self.clock()):
                    log.info("subscription %s: its receiver accepts connections again; probing now", sub.id)
                    if self._wake is not None:
                        self._wake.set()
            except Exception:  # noqa: BLE001
                log.warning("reachability check of subscription %s failed", sub.id, exc_info=True)

    async def _controls(self) -> bool:
        """Once a second: subscriptions past their end are turned off; handshakes and heartbeats due."""
        now = self.clock()
        try:
            for sub_id in await asyncio.to_thread(self.store.end_due, now):
                log.info("subscription %s reached its end: off", sub_id)
            controls = await asyncio.to_thread(self.store.controls, now, self.config.owner,
                                               now + timedelta(seconds=self.config.lease_s))
        except Exception:  # noqa: BLE001
            log.exception("ending subscriptions or claiming handshakes/heartbeats failed")
            return False
        for c in controls:
            self._spawn(self._control(c))
        return bool(controls)

    def _spawn(self, coro) -> None:
        self._state.in_flight += 1
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(tk: asyncio.Task) -> None:
            self._tasks.discard(tk)
            self._state.in_flight -= 1
            if self._state.in_flight == 0 and self._wake is not None:
                self._wake.set()

        task.add_done_callback(done)

    # ------------------------------------------------------------------ one delivery
    async def _deliver(self, batch: list[Leased]) -> None:
        """One request: a delivery, or (FHIR, max count > 1) several of one subscription in one Bundle."""
        started = self.clock()
        sub = batch[0].subscription
        try:
            events_since = sub.events_count
            if len(batch) == 1:
                d = batch[0]
                payload = payloads.build(sub, d.notification, d.event_number, events_since, base=self.config.base,
                                         canonical_base=self.config.canonical_base, now=started)
            else:
                payload = payloads.build_fhir_batch(sub, [(d.event_number, d.notification) for d in batch],
                                                    events_since, base=self.config.base,
                                                    canonical_base=self.config.canonical_base, now=started)
            async with self._gate(sub):
                started = self.clock()
                headers = await self._headers(sub, payload, started)
                outcome = await self.sender.send(sub, payload, headers)
        except Exception as exc:  # noqa: BLE001 - a failure to build or sign is this attempt's failure
            log.warning("delivery %s to subscription %s could not be attempted: %s", batch[0].delivery_id, sub.id,
                        exc.__class__.__name__)
            outcome = Outcome.failed("internal", 0.0, f"not attempted: {exc.__class__.__name__}")
        done = self.clock()
        self._state.results.extend(decide(d, outcome, done, started) for d in batch)

    async def _headers(self, sub, payload: payloads.Payload, now: datetime) -> dict[str, str]:
        headers: dict[str, str] = {}
        # cached by the store (per subscription version, a few seconds): a database read only on a miss
        if sub.channel in (t.FHIR, t.DAVINCI):
            headers.update(self.store.channel_headers(sub))
        if payload.signed:
            keys = self.store.signing_keys(sub, now)
            headers.update(webhooks.headers(keys, payload.msg_id, int(now.timestamp()), payload.body))
        return headers

    async def _control(self, c: Control) -> None:
        sub = c.subscription
        started = self.clock()
        count = await asyncio.to_thread(self.store.events_count, sub.id)
        status = "requested" if c.kind == "handshake" else sub.status
        bundle = fhir_subscriptions.notification_bundle(
            sub, kind=c.kind, base=self.config.base, canonical_base=self.config.canonical_base,
            events_since=count, now=started, status=status)
        body = payloads._json(bundle)
        payload = payloads.Payload(body, fhir_subscriptions.FHIR_JSON, sub.endpoint, bundle["id"])
        try:
            headers = await asyncio.to_thread(self.store.channel_headers, sub)
            outcome = await self.sender.send(sub, payload, headers)
        except Exception as exc:  # noqa: BLE001
            outcome = Outcome.failed("internal", 0.0, f"not attempted: {exc.__class__.__name__}")
        error = None
        if c.kind == "handshake" and not outcome.ok:
            error = f"handshake failed: {outcome.status} {outcome.error or ''}".strip()
        self._state.results.append(AttemptResult(
            delivery_id=None, subscription_id=sub.id, event_id=None, kind=c.kind, endpoint=sub.endpoint,
            started_at=started, outcome=outcome, state="delivered" if outcome.ok else "failed",
            subscription_error=error))
