"""An asyncio MLLP client for feeding HL7 v2 messages to a listener and timing the ACKs.

Each of N connections sends one message, waits for its ACK, then sends the next (MLLP is
sequential per connection). A lost connection is reopened and the unanswered message sent
again (a listener dedupes on MSH-10), up to ``retries`` times. An optional target rate paces
the sends across all connections. TLS and client certificates go through an ``ssl.SSLContext``.

    summary = await send_messages("127.0.0.1", 2575, messages, connections=16)
    print(summary.as_dict())     # sent, acked by MSA-1 code, errors, p50/p95/p99 latency

Messages and ACK texts may carry patient data: nothing here logs them.
"""

from __future__ import annotations

import asyncio
import math
import ssl as _ssl
import time
from collections import Counter
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"


def frame(message: bytes | str) -> bytes:
    """Wrap one HL7 message for MLLP: 0x0B message 0x1C 0x0D."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    return START_BLOCK + data + END_BLOCK


def unframe(payload: bytes) -> bytes:
    """The message inside an MLLP block (bytes before 0x0B and the trailing 0x1C 0x0D dropped)."""
    start = payload.find(START_BLOCK)
    body = payload[start + 1:] if start >= 0 else payload
    if body.endswith(END_BLOCK):
        body = body[:-2]
    elif body.endswith(b"\x1c"):
        body = body[:-1]
    return body


def control_id_of(message: bytes) -> str:
    """MSH-10 of an HL7 message using its own field separator ("" when there is no MSH)."""
    if not message.startswith(b"MSH") or len(message) < 4:
        return ""
    sep = message[3:4]
    end = len(message)
    for term in (b"\r", b"\n"):
        i = message.find(term)
        if 0 <= i < end:
            end = i
    fields = message[:end].split(sep)
    return fields[9].decode("ascii", "replace") if len(fields) > 9 else ""


@dataclass(frozen=True, slots=True)
class Ack:
    code: str            # MSA-1: AA AE AR CA CE CR ("" if the answer had no MSA)
    control_id: str      # MSA-2: the MSH-10 it acknowledges
    text: str            # MSA-3
    raw: bytes


def parse_ack(payload: bytes) -> Ack:
    """Read MSA-1/2/3 from an ACK (framed or not), honouring the ACK's own field separator."""
    body = unframe(payload)
    sep = body[3:4] if body.startswith(b"MSH") and len(body) > 3 else b"|"
    for seg in body.replace(b"\n", b"\r").split(b"\r"):
        if seg.startswith(b"MSA" + sep):
            f = seg.split(sep)
            get = (lambda i: f[i].decode("ascii", "replace") if len(f) > i else "")
            return Ack(get(1), get(2), get(3), body)
    return Ack("", "", "", body)


@dataclass(frozen=True, slots=True)
class MessageResult:
    index: int               # position in the input
    control_id: str          # MSH-10 sent
    code: str                # MSA-1 ("" when no ACK came)
    ack_control_id: str      # MSA-2
    latency: float | None    # seconds from the write to the whole ACK
    attempts: int
    error: str | None        # why no ACK: timeout, connection, ...
    sent_at: float           # wall-clock (time.time()) of the last write


@dataclass
class SendSummary:
    sent: int = 0
    acked: Counter = field(default_factory=Counter)      # by MSA-1 code
    errors: int = 0
    error_kinds: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, one per ACK received
    retries: int = 0
    connects: int = 0        # connections opened (first ones and reconnects)
    mismatched: int = 0      # ACKs whose MSA-2 is not the MSH-10 sent
    elapsed: float = 0.0
    connections: int = 0

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of the ACK latencies (seconds), p in [0, 100]."""
        if not self.latencies:
            return None
        xs = sorted(self.latencies)
        k = max(0, min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1))
        return xs[k]

    @property
    def throughput(self) -> float:
        """ACKs received per second of wall time."""
        return sum(self.acked.values()) / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        ms = (lambda v: None if v is None else round(v * 1000, 3))
        return {
            "sent": self.sent, "acked": dict(sorted(self.acked.items())), "errors": self.errors,
            "error_kinds": dict(sorted(self.error_kinds.items())), "retries": self.retries,
            "connects": self.connects, "mismatched": self.mismatched,
            "connections": self.connections, "elapsed_s": round(self.elapsed, 3),
            "throughput_per_s": round(self.throughput, 1),
            "latency_ms": {"p50": ms(self.percentile(50)), "p95": ms(self.percentile(95)),
                           "p99": ms(self.percentile(99)), "max": ms(max(self.latencies) if self.latencies else None)},
        }


def make_ssl_context(cafile: str | None = None, certfile: str | None = None, keyfile: str | None = None,
                     *, verify: bool = True) -> _ssl.SSLContext:
    """A client TLS context: trust ``cafile`` (or the system store), present a client certificate if given."""
    ctx = _ssl.create_default_context(_ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = _ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


class _RateLimit:
    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.n = 0
        self.start: float | None = None

    async def acquire(self) -> None:
        if not self.rate:
            return
        now = time.perf_counter()
        if self.start is None:
            self.start = now
        due = self.start + self.n / self.rate
        self.n += 1
        if due > now:
            await asyncio.sleep(due - now)


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (OSError, _ssl.SSLError, ConnectionError):
            pass


_RETRYABLE = (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.TimeoutError,
              asyncio.LimitOverrunError, _ssl.SSLError)


class MllpClient:
    def __init__(self, host: str, port: int, *, connections: int = 1, ssl: _ssl.SSLContext | None = None,
                 server_hostname: str | None = None, rate: float | None = None, ack_timeout: float = 10.0,
                 connect_timeout: float = 5.0, retries: int = 3, backoff: float = 0.1,
                 max_ack_bytes: int = 1 << 20,
                 on_result: Callable[[MessageResult], None] | None = None) -> None:
        if connections < 1:
            raise ValueError("connections must be >= 1")
        self.host, self.port = host, port
        self.connections = connections
        self.ssl = ssl
        self.server_hostname = server_hostname
        self.rate = rate
        self.ack_timeout = ack_timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_ack_bytes = max_ack_bytes
        self.on_result = on_result

    async def _connect(self) -> _Conn:
        kw: dict[str, Any] = {"limit": self.max_ack_bytes}
        if self.ssl is not None:
            kw["ssl"] = self.ssl
            kw["server_hostname"] = self.server_hostname or self.host
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port, **kw),
                                                self.connect_timeout)
        return _Conn(reader, writer)

    async def send(self, messages: Iterable[bytes | str] | AsyncIterable[bytes | str]) -> SendSummary:
        """Send every message and wait for every ACK; returns the summary."""
        summary = SendSummary(connections=self.connections)
        queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(maxsize=self.connections * 4)
        limiter = _RateLimit(self.rate)
        t0 = time.perf_counter()

        async def produce() -> None:
            i = 0
            if isinstance(messages, AsyncIterable):
                async for m in messages:
                    await queue.put((i, m.encode("utf-8") if isinstance(m, str) else m))
                    i += 1
            else:
                for m in messages:
                    await queue.put((i, m.encode("utf-8") if isinstance(m, str) else m))
                    i += 1
            for _ in range(self.connections):
                await queue.put(None)

        workers = [asyncio.create_task(self._worker(queue, summary, limiter)) for _ in range(self.connections)]
        try:
            await produce()
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                if not w.done():
                    w.cancel()
        summary.elapsed = time.perf_counter() - t0
        return summary

    async def _worker(self, queue: asyncio.Queue, summary: SendSummary, limiter: _RateLimit) -> None:
        conn: _Conn | None = None
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                idx, msg = item
                conn = await self._one(conn, idx, msg, summary, limiter)
        finally:
            if conn is not None:
                await conn.close()

    async def _one(self, conn: _Conn | None, idx: int, msg: bytes, summary: SendSummary,
                   limiter: _RateLimit) -> _Conn | None:
        cid = control_id_of(msg)
        data = frame(msg)
        attempts = 0
        await limiter.acquire()
        summary.sent += 1
        while True:
            attempts += 1
            sent_at = time.time()
            try:
                if conn is None:
                    conn = await self._connect()
                    summary.connects += 1
                t = time.perf_counter()
                conn.writer.write(data)
                await conn.writer.drain()
                payload = await asyncio.wait_for(conn.reader.readuntil(END_BLOCK), self.ack_timeout)
                latency = time.perf_counter() - t
            except _RETRYABLE as exc:
                if conn is not None:
                    await conn.close()
                    conn = None
                kind = "timeout" if isinstance(exc, asyncio.TimeoutError) else \
                    "ack_too_large" if isinstance(exc, asyncio.LimitOverrunError) else \
                    "tls" if isinstance(exc, _ssl.SSLError) else "connection"
                if attempts > self.retries:
                    summary.errors += 1
                    summary.error_kinds[kind] += 1
                    self._report(MessageResult(idx, cid, "", "", None, attempts, kind, sent_at))
                    return None
                summary.retries += 1
                await asyncio.sleep(self.backoff * (2 ** (attempts - 1)))
                continue
            ack = parse_ack(payload)
            summary.acked[ack.code or "?"] += 1
            summary.latencies.append(latency)
            if cid and ack.control_id != cid:
                summary.mismatched += 1
            self._report(MessageResult(idx, cid, ack.code, ack.control_id, latency, attempts, None, sent_at))
            return conn

    def _report(self, result: MessageResult) -> None:
        if self.on_result is not None:
            self.on_result(result)


async def send_messages(host: str, port: int, messages: Iterable[bytes | str] | AsyncIterable[bytes | str],
                        **kwargs: Any) -> SendSummary:
    """One-call form of ``MllpClient(host, port, **kwargs).send(messages)``."""
    return await MllpClient(host, port, **kwargs).send(messages)
