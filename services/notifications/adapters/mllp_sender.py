"""HL7 v2 forward over MLLP: one persistent connection per subscription, one message at a time
(the receiver answers in order), each waiting for its ACK within the subscription's timeout.

An ACK must echo our MSH-10 in MSA-2: AA/CA delivers; AE/AR/CE/CR, a wrong control id, a closed
connection or a timeout is a failed attempt, and the connection is dropped (a late ACK must not
be read as the next message's). Endpoints are ``mllp://host:port`` (``mllps://`` for TLS) and
pass the outbound policy like HTTP ones: the host's every address is checked, then the
connection is made to a checked address.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

from ..domain import hl7_forward
from ..domain.endpoints import MLLP_SCHEMES, EndpointRefused, OutboundPolicy
from ..domain.payloads import Payload
from ..domain.retry import Outcome
from ..domain.subscription import Subscription

MAX_ACK_BYTES = 1 << 20


class _Conn:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.endpoint: str | None = None

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class MllpSender:
    def __init__(self, policy: OutboundPolicy, ca_file: str | None = None) -> None:
        self.policy = policy
        self.ca_file = ca_file
        self._conns: dict[str, _Conn] = {}

    async def _connect(self, conn: _Conn, url: str, timeout: float) -> None:
        target = self.policy.check_url(url, MLLP_SCHEMES)
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(i[4][0] for i in infos))
        self.policy.check_resolved(addresses)
        ctx = ssl.create_default_context(cafile=self.ca_file) if target.tls else None
        conn.reader, conn.writer = await asyncio.wait_for(
            asyncio.open_connection(addresses[0], target.port, ssl=ctx,
                                    server_hostname=target.host if ctx else None, limit=MAX_ACK_BYTES), timeout)
        conn.endpoint = url

    async def send(self, sub: Subscription, payload: Payload, headers: dict[str, str]) -> Outcome:
        conn = self._conns.setdefault(sub.id, _Conn())
        async with conn.lock:
            started = time.perf_counter()
            try:
                if conn.writer is None or conn.endpoint != payload.url or conn.writer.is_closing():
                    conn.drop()
                    try:
                        await self._connect(conn, payload.url, sub.timeout_s)
                    except asyncio.TimeoutError:
                        return Outcome.failed("connect", time.perf_counter() - started,
                                              f"no connection within {sub.timeout_s:g} s")
                    except OSError:  # refused, unreachable, does not resolve, TLS handshake
                        conn.drop()
                        return Outcome.failed("connect", time.perf_counter() - started, "connection failed")
                assert conn.reader is not None and conn.writer is not None
                conn.writer.write(hl7_forward.START + payload.body + hl7_forward.END)
                await conn.writer.drain()
                data = await asyncio.wait_for(conn.reader.readuntil(hl7_forward.END), sub.timeout_s)
            except EndpointRefused as exc:
                conn.drop()
                return Outcome.failed("refused", time.perf_counter() - started, str(exc))
            except asyncio.TimeoutError:
                conn.drop()
                return Outcome.failed("timeout", time.perf_counter() - started, f"no ACK within {sub.timeout_s:g} s")
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                conn.drop()
                status = "connect" if isinstance(exc, ConnectionRefusedError) else "closed"
                return Outcome.failed(status, time.perf_counter() - started, "connection failed or closed")
            ack = hl7_forward.parse_ack(data)
            latency = time.perf_counter() - started
            if ack.accepts(payload.msg_id):
                return Outcome(True, ack.code or "AA", latency)
            if ack.code is None:
                conn.drop()
                return Outcome.failed("no-msa", latency, "the answer has no MSA segment")
            if ack.control_id != payload.msg_id:
                conn.drop()
                return Outcome.failed(ack.code, latency, "MSA-2 does not echo the message's MSH-10")
            return Outcome.failed(ack.code, latency, f"NAK {ack.code}" + (f": {ack.text[:200]}" if ack.text else ""))

    async def reachable(self, sub: Subscription) -> bool:
        """Whether a connection to the receiver can be made now (then closed; nothing is sent)."""
        probe = _Conn()
        try:
            await self._connect(probe, sub.endpoint, min(sub.timeout_s, 5.0))
        except (OSError, ValueError, asyncio.TimeoutError):
            return False
        probe.drop()
        return True

    async def close(self) -> None:
        for conn in self._conns.values():
            conn.drop()


class ChannelSender:
    """Routes each send to the HTTP or the MLLP sender by the subscription's channel."""

    def __init__(self, http, mllp) -> None:
        self.http = http
        self.mllp = mllp

    async def send(self, sub: Subscription, payload: Payload, headers: dict[str, str]) -> Outcome:
        from ..domain import topics as t

        return await (self.mllp if sub.channel == t.MLLP else self.http).send(sub, payload, headers)

    async def reachable(self, sub: Subscription) -> bool:
        from ..domain import topics as t

        return await (self.mllp if sub.channel == t.MLLP else self.http).reachable(sub)

    async def close(self) -> None:
        await self.http.close()
        await self.mllp.close()
