"""HTTP/1.1 on the wire for the dispatcher's client (``http_client.py``): the request target and
headers (checked: no CR, LF or NUL, token names), and one connection's answer parser — a status
line, headers up to 64 KiB, a body by ``Content-Length``, chunked or up to the close (read up to
64 KiB and dropped; a longer one ends the connection), 1xx interim answers skipped. Anything else
is a protocol error."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024
TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
BAD_VALUE = re.compile(r"[\r\n\x00]")


class HttpFailure(Exception):
    """Why a request got no answer: ``connect``, ``closed``, ``protocol`` (``timeout`` is asyncio's)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names (the last value of a repeated header)


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return (host if self.port == default else f"{host}:{self.port}").encode("idna" if host.isascii() else "utf-8")


def request_target(url: str) -> tuple[Origin, bytes]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if scheme == "https" else 80)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    return Origin(scheme, host, port), path.encode("ascii")


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw = name.encode("latin-1", "replace")
        if not TOKEN.match(raw) or BAD_VALUE.search(value):
            raise ValueError("a header name or value is not allowed (CR, LF, NUL or a non-token name)")
        out += raw + b": " + value.encode("latin-1", "replace") + b"\r\n"
    return bytes(out)


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.alive = False
        self.reusable = False
        self.got_bytes = False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.state = "head"  # head | length | chunk-size | chunk-data | chunk-crlf | trailer | close
        self.answer: Answer | None = None
        self.remaining = 0
        self.body_read = 0
        self.keep_alive = True

    # -- asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.alive = True

    def connection_lost(self, exc) -> None:
        self.alive = False
        if self.waiter is not None and not self.waiter.done():
            if self.state == "close" and self.answer is not None:  # the body ends with the connection
                self.reusable = False
                self.waiter.set_result(self.answer)
            else:
                self.waiter.set_exception(HttpFailure("closed", "the connection was closed"))

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self.alive = False  # bytes nobody asked for: this connection cannot be trusted again
            if self.transport is not None:
                self.transport.close()
            return
        self.got_bytes = True
        self.buf += data
        try:
            self._parse()
        except HttpFailure as exc:
            if not self.waiter.done():
                self.waiter.set_exception(exc)
            self.abort()

    # -- the exchange
    def send(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None
        self._reset()
        self.buf.clear()
        self.got_bytes = False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def abort(self) -> None:
        self.alive = False
        if self.transport is not None:
            self.transport.abort()

    def _done(self) -> None:
        assert self.waiter is not None and self.answer is not None
        self.state = "done"
        self.reusable = self.keep_alive and not self.buf
        if not self.waiter.done():
            self.waiter.set_result(self.answer)

    def _parse(self) -> None:  # noqa: C901 - a small state machine reads best in one place
        while True:
            if self.state == "head":
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > MAX_HEAD:
                        raise HttpFailure("protocol", "the answer's headers are too long")
                    return
                head = bytes(self.buf[:end])
                del self.buf[:end + 4]
                self._head(head)
                if self.answer is None:  # 1xx: the real answer follows
                    continue
                if self.state == "done":
                    return self._done()
            elif self.state == "length":
                take = min(self.remaining, len(self.buf))
                self.remaining -= take
                if self._eat(take):
                    return
                if self.remaining == 0:
                    return self._done()
                return
            elif self.state == "chunk-size":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    if len(self.buf) > 1024:
                        raise HttpFailure("protocol", "a chunk size line is too long")
                    return
                line = bytes(self.buf[:end]).split(b";", 1)[0].strip()
                del self.buf[:end + 2]
                try:
                    self.remaining = int(line, 16)
                except ValueError:
                    raise HttpFailure("protocol", "a chunk size is not hexadecimal") from None
                self.state = "chunk-data" if self.remaining else "trailer"
            elif self.state == "chunk-data":
                take = min(self.remaining, len(self.buf))
                self.remaining -= take
                if self._eat(take) or self.remaining:
                    return
                self.state = "chunk-crlf"
            elif self.state == "chunk-crlf":
                if len(self.buf) < 2:
                    return
                if self.buf[:2] != b"\r\n":
                    raise HttpFailure("protocol", "a chunk does not end with CRLF")
                del self.buf[:2]
                self.state = "chunk-size"
            elif self.state == "trailer":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    if len(self.buf) > MAX_HEAD:
                        raise HttpFailure("protocol", "the answer's trailers are too long")
                    return
                del self.buf[:end + 2]
                if end == 0:
                    return self._done()
            elif self.state == "close":
                self._eat(len(self.buf))
                return
            else:
                return

    def _eat(self, n: int) -> bool:
        """Drop ``n`` bytes of body; True when the body is too long to read on (the answer is then
        complete: only its status matters, and the connection ends)."""
        del self.buf[:n]
        self.body_read += n
        if self.body_read <= MAX_BODY:
            return False
        self.keep_alive = False
        self.buf.clear()
        self.state = "done"
        self._done()
        self.abort()
        return True

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status_line = lines[0]
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
            raise HttpFailure("protocol", "the answer is not HTTP/1.x")
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            return
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not TOKEN.match(name):
                raise HttpFailure("protocol", "a malformed header line in the answer")
            headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
        self.answer = Answer(status, headers)
        connection = headers.get("connection", "").lower()
        self.keep_alive = ("keep-alive" in connection) if parts[0] == b"HTTP/1.0" else ("close" not in connection)
        if status in (204, 304) or status == 101:
            self.state = "done"
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.state = "chunk-size"
        elif "content-length" in headers:
            try:
                self.remaining = int(headers["content-length"])
            except ValueError:
                raise HttpFailure("protocol", "Content-Length is not a number") from None
            if self.remaining < 0:
                raise HttpFailure("protocol", "Content-Length is negative")
            self.state = "length" if self.remaining else "done"
        else:
            self.keep_alive = False
            self.state = "close"
