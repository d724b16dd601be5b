"""The asyncio MLLP listener.

Each connection is read by one task: frames are answered one at a time, in order (HL7 ACKs
follow the messages of a connection), while any number of connections run concurrently.
A connection is closed after ``idle_timeout`` seconds without data. Frames larger than
``max_frame_bytes`` are refused with a NAK (AR 207) and the connection goes on with the next
frame; a frame cut short by a new start block gets a NAK (AR 100). With ``reuse_port`` several
processes bind the same port (SO_REUSEPORT) and the kernel spreads connections over them; a
connection stays with one process, so its ACKs keep their order. Beyond ``max_connections`` open
connections a new one is closed at once (counted as failure "connection_limit"). Bytes outside frames and
frames cut short by the end of the connection are dead-lettered (nobody is left to answer).

    gateway = AdtGateway(publish, dead_letter, dedupe, GatewayConfig(default_tz=...), hooks)
    server = MllpServer(gateway, host="0.0.0.0", port=2575, ssl=server_ssl_context(...))
    await server.start(); ...; await server.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module

from .framing import Frame, FrameEvent, Junk, MllpDecoder, Oversized, Truncated, frame
from .gateway import AdtGateway, refused_too_large, refused_truncated

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


class MllpServer:
    def __init__(
        self, gateway: AdtGateway, *, host: str = "0.0.0.0", port: int = 2575,
        ssl: ssl_module.SSLContext | None = None, idle_timeout: float = 300.0, max_frame_bytes: int = 1 << 20,
        ssl_handshake_timeout: float = 10.0, max_connections: int | None = None, reuse_port: bool = False,
    ) -> None:
        self.gateway = gateway
        self.hooks = gateway.hooks
        self.host, self.requested_port = host, port
        self.ssl = ssl
        self.idle_timeout = idle_timeout
        self.max_frame_bytes = max_frame_bytes
        self.ssl_handshake_timeout = ssl_handshake_timeout
        self.max_connections = max_connections
        self.reuse_port = reuse_port  # SO_REUSEPORT: sibling processes share the port (connections spread by the kernel)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        assert self._server is not None and self._server.sockets, "server not started"
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self.requested_port, ssl=self.ssl,
            ssl_handshake_timeout=self.ssl_handshake_timeout if self.ssl else None, limit=READ_CHUNK,
            reuse_port=self.reuse_port or None,
        )
        log.info("MLLP listener on %s:%s (tls=%s)", self.host, self.port, self.ssl is not None)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting; give open connections ``grace`` seconds to finish the frame in hand."""
        if self._server is not None:
            self._server.close()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> "MllpServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ connections

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self.max_connections is not None and len(self._tasks) >= self.max_connections:
            self.hooks.failure("connection_limit")  # bounded: the sender retries later
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        self._tasks.add(task)
        self.hooks.connections(1)
        decoder = MllpDecoder(self.max_frame_bytes)
        tls_cn = _client_common_name(writer)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_CHUNK), self.idle_timeout)
                except TimeoutError:
                    log.debug("MLLP connection idle for %ss: closing", self.idle_timeout)
                    data = b""
                except (ConnectionError, ssl_module.SSLError, OSError):
                    data = b""
                if not data:
                    for event in decoder.eof():
                        await self._answer(event, tls_cn)  # nobody to answer: dead-lettered only
                    break
                for event in decoder.feed(data):
                    replies = await self._answer(event, tls_cn)
                    if replies:
                        writer.write(b"".join(frame(r) for r in replies))
                        await writer.drain()
        except (ConnectionError, ssl_module.SSLError, OSError):
            self.hooks.failure("write")
        finally:
            self.hooks.connections(-1)
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, event: FrameEvent, tls_cn: str | None = None) -> list[bytes]:
        if isinstance(event, Frame):
            result = await self.gateway.handle(event.payload, tls_cn=tls_cn)
        elif isinstance(event, Oversized):
            result = await self.gateway.refuse(event.head, refused_too_large(self.max_frame_bytes), tls_cn)
        elif isinstance(event, Truncated):
            result = await self.gateway.refuse(event.payload, refused_truncated(event.reason), tls_cn)
        else:
            assert isinstance(event, Junk)
            await self.gateway.junk(event.data)
            return []
        return result.replies()


def _client_common_name(writer: asyncio.StreamWriter) -> str | None:
    """The CN of the client certificate on a mutual-TLS connection (None otherwise)."""
    cert = writer.get_extra_info("peercert")
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
