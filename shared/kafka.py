"""The Kafka producer on confluent-kafka (topic administration: ``shared.kafka_admin``).

``EventProducer`` writes with ``acks=all``, the idempotent producer, lz4 and a small linger,
and lets the caller wait for the broker's confirmation: ``await producer.send(event)`` returns
only when the write is durable, so an ACK to a sender can wait on it. A background thread
polls librdkafka and completes the waiting futures (asyncio or threads).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Producer

from . import codec, metrics
from .errors import DeliveryError
from .events import Event
from .settings import CommonSettings

log = logging.getLogger(__name__)
_rdkafka_log = logging.getLogger("librdkafka")


class _OncePer(logging.Filter):
    """The same librdkafka line (a broker down is reported on every reconnect) once per window."""

    def __init__(self, seconds: float = 30.0) -> None:
        super().__init__()
        self.seconds = seconds
        self.last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = re.sub(r"\d+", "#", record.getMessage())[-200:]
        now = time.monotonic()
        if now - self.last.get(key, -1e9) < self.seconds:
            return False
        if len(self.last) > 1000:
            self.last.clear()
        self.last[key] = now
        return True


_rdkafka_log.addFilter(_OncePer())

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Delivery:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class OutMessage:
    topic: str
    value: bytes | None
    key: bytes | None = None
    headers: Headers | None = None


class EventProducer:
    """One per process. Thread-safe; usable from asyncio (``send``) and threads (``send_sync``)."""

    def __init__(self, settings: CommonSettings, client_id: str, **overrides: object) -> None:
        self.settings = settings
        conf: dict[str, object] = {
            **settings.kafka_client_config(),
            "client.id": client_id,
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": "lz4",
            "linger.ms": 5,
            "delivery.timeout.ms": max(int(settings.producer_timeout_s * 1000), 1000),
            "queue.buffering.max.messages": settings.producer_max_in_flight,
            "queue.buffering.max.kbytes": 262144,
            "message.max.bytes": 10 * 1024 * 1024,
            "logger": _rdkafka_log,
        }
        conf.update(overrides)
        self._producer = Producer(conf)
        self._timeout = settings.producer_timeout_s
        # completions of asyncio waiters, handed to their loops once per poll round (one wake-up of
        # the loop for all the deliveries librdkafka served together, not one per message)
        self._deferred: list[tuple[asyncio.AbstractEventLoop, asyncio.Future, object, BaseException | None]] = []
        self._deferred_lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._poll_loop, name=f"kafka-poll-{client_id}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ internals
    def _poll_loop(self) -> None:
        while self._running:
            try:
                self._producer.poll(0.05)
            except Exception:  # noqa: BLE001 - see below
                # A callback raised (a log handler writing to a closed stream, a waiter's code):
                # librdkafka keeps the rest of the round's events for the next poll. Letting it
                # end this thread would leave every later write unconfirmed until a restart.
                # Counted, not logged: logging may be what failed.
                metrics.PRODUCER_CALLBACK_ERRORS.inc()
            if self._deferred:
                self._hand_over()
            metrics.PRODUCER_QUEUE.set(len(self._producer))

    def alive(self) -> bool:
        """The thread serving deliveries is running (a write can be confirmed)."""
        return self._running and self._thread.is_alive()

    def _complete_later(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future, result: object,
                        exc: BaseException | None) -> None:
        """From a delivery callback: settle ``fut`` on its loop after this poll round."""
        with self._deferred_lock:
            self._deferred.append((loop, fut, result, exc))

    def _hand_over(self) -> None:
        with self._deferred_lock:
            items, self._deferred = self._deferred, []
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for loop, fut, result, exc in items:
            by_loop.setdefault(loop, []).append((fut, result, exc))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, settled)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                pass

    def _try_produce(self, msg: OutMessage, done) -> bool:
        """Hand ``msg`` to librdkafka; False when its bounded queue is full (the caller waits)."""
        started = time.perf_counter()

        def on_delivery(err: KafkaError | None, m) -> None:
            if err is not None:
                metrics.PRODUCE_FAILURES.labels(msg.topic).inc()
                done(None, DeliveryError(f"write to {msg.topic} not confirmed: {err.str()}"))
            else:
                metrics.PRODUCED.labels(msg.topic).inc()
                metrics.PRODUCE_SECONDS.observe(time.perf_counter() - started)
                done(Delivery(m.topic(), m.partition(), m.offset()), None)

        try:
            self._producer.produce(msg.topic, value=msg.value, key=msg.key, headers=msg.headers,
                                   on_delivery=on_delivery)
            return True
        except BufferError:
            return False
        except KafkaException as exc:
            done(None, DeliveryError(f"produce to {msg.topic} refused: {exc}"))
            return True

    def _queue_full(self, msg: OutMessage, done) -> None:
        metrics.PRODUCE_FAILURES.labels(msg.topic).inc()
        done(None, DeliveryError("producer queue full: Kafka is not keeping up or is down"))

    def _produce(self, msg: OutMessage, done, deadline: float | None = None) -> None:
        """From a thread: wait (bounded by the producer timeout) while the queue is full."""
        deadline = deadline or time.monotonic() + self._timeout
        while not self._try_produce(msg, done):
            if time.monotonic() > deadline:
                self._queue_full(msg, done)
                return
            time.sleep(0.01)

    async def _produce_async(self, msg: OutMessage, done, deadline: float) -> None:
        """From the event loop: the same, without blocking the loop while the queue is full."""
        while not self._try_produce(msg, done):
            if time.monotonic() > deadline:
                self._queue_full(msg, done)
                return
            await asyncio.sleep(0.01)

    def message_for(self, event: Event, topic: str | None = None) -> OutMessage:
        key, value, headers = codec.encode(event)
        return OutMessage(topic or self.settings.topic(event.TOPIC), value, key, headers)

    # ------------------------------------------------------------------ asyncio API
    async def send_messages(self, messages: Sequence[OutMessage], timeout: float | None = None) -> list[Delivery]:
        """Write all; return when every one is confirmed. Raises ``DeliveryError`` otherwise."""
        n = len(messages)
        if n == 0:
            return []
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self._timeout  # one budget for the whole batch
        fut: asyncio.Future = loop.create_future()
        results: list[Delivery | None] = [None] * n
        errors: list[BaseException] = []
        lock = threading.Lock()
        remaining = [n]

        def settle() -> None:
            if not fut.done():
                if errors:
                    fut.set_exception(errors[0])
                else:
                    fut.set_result(results)

        for index, msg in enumerate(messages):
            def done(result, exc, index=index):
                with lock:
                    if exc is not None:
                        errors.append(exc)
                    else:
                        results[index] = result
                    remaining[0] -= 1
                    last = remaining[0] == 0
                if last:
                    try:
                        loop.call_soon_threadsafe(settle)
                    except RuntimeError:  # the waiter's loop is closed: nobody is waiting any more
                        pass

            await self._produce_async(msg, done, deadline)
        try:
            return list(await asyncio.wait_for(asyncio.shield(fut), timeout or self._timeout + 2))
        except asyncio.TimeoutError:
            raise DeliveryError("Kafka did not confirm the write in time") from None

    async def send_one(self, msg: OutMessage) -> Delivery:
        """One write from the event loop; returns when the broker confirmed it, raises
        ``DeliveryError`` otherwise. The cheap path of the ACK: no deadline of its own beyond the
        producer's ``delivery.timeout.ms`` (the caller bounds its wait, e.g. ``asyncio.timeout``)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()

        def done(result, exc) -> None:
            self._complete_later(loop, fut, result, exc)

        await self._produce_async(msg, done, time.monotonic() + self._timeout)
        return await fut

    async def send(self, event: Event, topic: str | None = None) -> Delivery:
        return (await self.send_messages([self.message_for(event, topic)]))[0]

    async def send_many(self, events: Iterable[Event]) -> list[Delivery]:
        return await self.send_messages([self.message_for(e) for e in events])

    async def send_raw(self, topic: str, value: bytes | None, key: bytes | None = None,
                       headers: Headers | None = None) -> Delivery:
        return (await self.send_messages([OutMessage(topic, value, key, headers)]))[0]

    # ------------------------------------------------------------------ thread API
    def send_messages_sync(self, messages: Sequence[OutMessage], timeout: float | None = None) -> list[Delivery]:
        """Write all from a thread; return when every one is confirmed (``DeliveryError`` otherwise).

        One countdown per call rather than a future per message: a batch of thousands of
        derived events costs one wait."""
        n = len(messages)
        if n == 0:
            return []
        results: list[Delivery | None] = [None] * n
        errors: list[BaseException] = []
        lock = threading.Lock()
        all_done = threading.Event()
        remaining = [n]
        deadline = time.monotonic() + self._timeout  # one budget for the whole batch

        for index, msg in enumerate(messages):
            def done(result, exc, index=index):
                with lock:
                    if exc is not None:
                        errors.append(exc)
                    else:
                        results[index] = result
                    remaining[0] -= 1
                    if remaining[0] == 0:
                        all_done.set()

            self._produce(msg, done, deadline)
        if not all_done.wait(timeout or self._timeout + 2):
            raise DeliveryError("Kafka did not confirm the write in time")
        if errors:
            raise errors[0]
        return results  # type: ignore[return-value]

    def send_sync(self, events: Iterable[Event]) -> list[Delivery]:
        return self.send_messages_sync([self.message_for(e) for e in events])

    # ------------------------------------------------------------------ lifecycle
    def flush(self, timeout: float = 10.0) -> int:
        remaining = self._producer.flush(timeout)
        self._hand_over()  # deliveries served by flush (another thread than the poll loop)
        return remaining

    def close(self, timeout: float = 10.0) -> None:
        remaining = self.flush(timeout)
        if remaining:
            log.warning("producer closed with %d messages unconfirmed", remaining)
        self._running = False
        self._thread.join(timeout=2)

    def in_flight(self) -> int:
        return len(self._producer)


def _settle_all(settled: list[tuple[asyncio.Future, object, BaseException | None]]) -> None:
    """On the waiters' loop: complete each future (one that was cancelled meanwhile is left)."""
    for fut, result, exc in settled:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)
