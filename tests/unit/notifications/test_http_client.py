"""The dispatcher's HTTP/1.1 client against servers on loopback that answer the way real ones do:
kept-alive connections, chunked and close-delimited bodies, 1xx interim answers, HTTP/1.0, huge
bodies, garbage, silence, and keep-alive connections the server closes while idle."""

from __future__ import annotations

import asyncio

import pytest

from services.notifications.adapters.http_client import HttpClient, HttpFailure, encode_headers, request_target
from services.notifications.adapters.http_sender import HttpSender, VettedConnector
from services.notifications.domain.endpoints import EndpointRefused, OutboundPolicy
from services.notifications.domain.payloads import Payload
from services.notifications.domain.subscription import Subscription

LOOPBACK = OutboundPolicy.parse(require_tls=False, ports="*", networks="127.0.0.1/32")


class Server:
    """A scripted HTTP server: ``answer(request_bytes) -> bytes | None`` per request (None: say
    nothing); counts connections and requests."""

    def __init__(self, answer, close_after: bool = False, close_reused: bool = False) -> None:
        self.answer = answer
        self.close_after = close_after
        self.close_reused = close_reused
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> "Server":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?x=1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        on_this_connection = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                on_this_connection += 1
                if self.close_reused and on_this_connection > 1:  # its keep-alive ran out as the request came
                    writer.close()
                    return
                out = self.answer(head + body)
                if out is None:
                    await asyncio.sleep(3600)
                writer.write(out)
                await writer.drain()
                if self.close_after:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    async def stop(self) -> None:
        for w in self.writers:
            w.close()
        self.server.close()


def client(**kw) -> HttpClient:
    return HttpClient(VettedConnector(LOOPBACK), **kw)


async def exchange(answer, *, n: int = 1, close_after: bool = False, timeout: float = 5.0, headers=None):
    server = await Server(answer, close_after).start()
    http = client()
    try:
        results = []
        for _ in range(n):
            try:
                results.append(await http.post(server.url, b'{"a":1}', headers or {"content-type": "application/json"},
                                                timeout))
            except (HttpFailure, TimeoutError) as exc:
                results.append(exc)
        return results, server
    finally:
        await http.close()
        await server.stop()


def run(coro):
    return asyncio.run(coro)


def test_a_kept_alive_connection_carries_the_next_requests():
    results, server = run(exchange(lambda _r: b"HTTP/1.1 204 No Content\r\n\r\n", n=3))
    assert [r.status for r in results] == [204, 204, 204]
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 7\r\n" in first and first.endswith(b'\r\n\r\n{"a":1}')


def test_bodies_by_length_chunked_and_to_the_close_are_read_and_dropped():
    by_length, server = run(exchange(lambda _r: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", n=2))
    assert [r.status for r in by_length] == [200, 200] and server.connections == 1
    chunked, server = run(exchange(
        lambda _r: b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n"
                   b"0\r\nX-Trailer: 1\r\n\r\n", n=2))
    assert [r.status for r in chunked] == [202, 202] and server.connections == 1
    to_close, server = run(exchange(lambda _r: b"HTTP/1.1 200 OK\r\n\r\nuntil the end", n=2, close_after=True))
    assert [r.status for r in to_close] == [200, 200] and server.connections == 2, "no length: a new connection"


def test_interim_answers_are_skipped_and_http_1_0_closes():
    results, _ = run(exchange(lambda _r: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"))
    assert results[0].status == 201
    results, server = run(exchange(lambda _r: b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", n=2,
                                   close_after=True))
    assert [r.status for r in results] == [200, 200] and server.connections == 2


def test_status_and_retry_after_of_a_refusal():
    results, _ = run(exchange(lambda _r: b"HTTP/1.1 503 Busy\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n"))
    assert (results[0].status, results[0].headers["retry-after"]) == (503, "30")


def test_a_huge_body_ends_the_connection_but_the_status_counts():
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1_000_000
    results, server = run(exchange(lambda _r: big, n=2))
    assert [r.status for r in results] == [200, 200] and server.connections == 2


def test_garbage_and_silence_are_failed_attempts():
    results, _ = run(exchange(lambda _r: b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))
    assert isinstance(results[0], HttpFailure) and results[0].kind == "protocol"
    results, _ = run(exchange(lambda _r: b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n"))
    assert isinstance(results[0], HttpFailure) and results[0].kind == "protocol"
    results, _ = run(exchange(lambda _r: None, timeout=0.5))
    assert isinstance(results[0], TimeoutError)


def test_a_connection_the_server_closes_as_it_is_reused_is_replaced_without_failing_the_request():
    async def scenario():
        server = await Server(lambda _r: b"HTTP/1.1 204 No Content\r\n\r\n", close_reused=True).start()
        http = client()
        try:
            first = await http.post(server.url, b"{}", {}, 5)
            second = await http.post(server.url, b"{}", {}, 5)  # written to the old connection, which closes
            return first.status, second.status, server.connections, len(server.requests)
        finally:
            await http.close()
            await server.stop()

    assert run(scenario()) == (204, 204, 2, 3), "sent again on a new connection, once"


def test_a_connection_closed_after_part_of_an_answer_is_a_failed_attempt():
    results, _ = run(exchange(lambda _r: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close_after=True))
    assert isinstance(results[0], HttpFailure) and results[0].kind == "closed"


def test_a_closed_port_is_a_connect_failure_and_a_private_address_is_refused():
    async def closed_port():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        http = client()
        try:
            await http.post(f"http://127.0.0.1:{port}/", b"{}", {}, 5)
        finally:
            await http.close()

    with pytest.raises(HttpFailure) as failure:
        run(closed_port())
    assert failure.value.kind == "connect"

    async def refused():
        http = HttpClient(VettedConnector(OutboundPolicy.parse(require_tls=False, ports="*", networks="")))
        try:
            await http.post("http://127.0.0.1:9/", b"{}", {}, 5)
        finally:
            await http.close()

    with pytest.raises(EndpointRefused):
        run(refused())


def test_headers_that_would_split_the_request_are_refused():
    with pytest.raises(ValueError):
        encode_headers({"X-Ok": "a\r\nX-Injected: 1"})
    with pytest.raises(ValueError):
        encode_headers({"Bad Name": "x"})
    assert encode_headers({"Authorization": "Bearer abc"}) == b"Authorization: Bearer abc\r\n"
    origin, target = request_target("https://Example.org/fhir/a b?q=1 2")
    assert (origin.host, origin.port, origin.host_header, target) == (
        "example.org", 443, b"example.org", b"/fhir/a%20b?q=1%202")


def test_the_sender_keeps_framing_headers_its_own():
    async def scenario():
        server = await Server(lambda _r: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").start()
        sender = HttpSender(LOOPBACK)
        sub = Subscription(id="s1", channel="fhir-rest-hook", topics=("encounter-start",), endpoint=server.url)
        try:
            outcome = await sender.send(sub, Payload(b"{}", "application/fhir+json", server.url, "id1"),
                                        {"Content-Length": "999", "Host": "evil", "Authorization": "Bearer t"})
            return outcome, server.requests[0]
        finally:
            await sender.close()
            await server.stop()

    outcome, request = run(scenario())
    assert outcome.ok and outcome.status == "200"
    assert b"content-length: 999" not in request.lower() and b"host: evil" not in request.lower()
    assert b"authorization: Bearer t" in request and b"accept: application/fhir+json" in request
