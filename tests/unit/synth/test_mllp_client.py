"""carectl.mllp_client against a tiny in-test MLLP server on 127.0.0.1 that answers with ACKs."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time

import pytest

from carectl.mllp_client import (MllpClient, SendSummary, control_id_of, frame, make_ssl_context, parse_ack,
                                 send_messages, unframe)


class AckServer:
    """Answers every frame with MSA-1 AA (AR for non-ADT or MSH-less input), echoing MSH-10 in MSA-2."""

    def __init__(self, *, drop_first: int = 0, silent: bool = False, ssl_ctx: ssl.SSLContext | None = None):
        self.drop_remaining = drop_first
        self.silent = silent
        self.ssl_ctx = ssl_ctx
        self.received: list[bytes] = []
        self.connections = 0
        self.port = 0

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_ctx)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                data = await reader.readuntil(b"\x1c\r")
                msg = unframe(data)
                self.received.append(msg)
                if self.drop_remaining > 0:
                    self.drop_remaining -= 1
                    return
                if self.silent:
                    continue
                cid = control_id_of(msg)
                code = "AA" if msg.startswith(b"MSH") and b"|ADT^" in msg else "AR"
                ack = f"MSH|^~\\&|CCP|CCP|SRC|SRC|20260101120000||ACK|ACK{cid}|P|2.5.1\rMSA|{code}|{cid}\r"
                writer.write(frame(ack))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


def adt(i: int, trigger: str = "A01") -> bytes:
    return (f"MSH|^~\\&|EPICADT|MERCY|CCP|CCP|20260302140500-0600||ADT^{trigger}^ADT_A01|MSG{i:05d}|P|2.5.1\r"
            f"EVN|{trigger}|20260302140500-0600\rPID|1||{1000 + i}^^^MERCY^MR||Synthwood^Ada\r").encode()


def test_sends_over_many_connections_and_matches_every_ack():
    results = []

    async def run():
        async with AckServer() as srv:
            summary = await send_messages("127.0.0.1", srv.port, [adt(i) for i in range(60)], connections=4,
                                          on_result=results.append)
            return srv, summary

    srv, s = asyncio.run(run())
    assert s.sent == 60 and s.acked == {"AA": 60} and s.errors == 0 and s.mismatched == 0
    assert len(s.latencies) == 60 and all(x > 0 for x in s.latencies)
    assert srv.connections == 4
    assert sorted(r.control_id for r in results) == [f"MSG{i:05d}" for i in range(60)]
    assert all(r.ack_control_id == r.control_id and r.attempts == 1 for r in results)
    d = s.as_dict()
    assert d["latency_ms"]["p50"] <= d["latency_ms"]["p95"] <= d["latency_ms"]["p99"] <= d["latency_ms"]["max"]


def test_counts_acks_by_code():
    msgs = [adt(1), adt(2).replace(b"ADT^A01", b"ORU^R01"), b"\x7fgarbage\r", adt(3)]

    async def run():
        async with AckServer() as srv:
            return await send_messages("127.0.0.1", srv.port, msgs)

    s = asyncio.run(run())
    assert s.acked == {"AA": 2, "AR": 2}


def test_resends_after_the_connection_drops():
    results = []

    async def run():
        async with AckServer(drop_first=2) as srv:
            s = await send_messages("127.0.0.1", srv.port, [adt(i) for i in range(5)], retries=3, backoff=0.01,
                                    on_result=results.append)
            return srv, s

    srv, s = asyncio.run(run())
    assert s.acked == {"AA": 5} and s.errors == 0
    assert s.retries == 2 and s.connects == 3
    assert len(srv.received) == 7                # the first message went three times
    assert results[0].attempts == 3


def test_gives_up_when_nothing_listens():
    async def run():
        async with AckServer() as srv:
            port = srv.port
        return await send_messages("127.0.0.1", port, [adt(1), adt(2)], retries=1, backoff=0.01,
                                   connect_timeout=1)

    s = asyncio.run(run())
    assert s.sent == 2 and s.errors == 2 and s.error_kinds == {"connection": 2}
    assert not s.acked and s.latencies == []


def test_ack_timeout_is_an_error():
    async def run():
        async with AckServer(silent=True) as srv:
            return await send_messages("127.0.0.1", srv.port, [adt(1)], ack_timeout=0.2, retries=0)

    s = asyncio.run(run())
    assert s.errors == 1 and s.error_kinds == {"timeout": 1}


def test_target_rate_spreads_the_sends():
    async def run():
        async with AckServer() as srv:
            t = time.perf_counter()
            s = await send_messages("127.0.0.1", srv.port, [adt(i) for i in range(21)], connections=3, rate=100)
            return s, time.perf_counter() - t

    s, elapsed = asyncio.run(run())
    assert s.acked == {"AA": 21}
    assert elapsed >= 0.18          # 21 sends at 100/s: the last one is due at 0.2 s


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_mutual_tls(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(cert))
    server_ctx.load_cert_chain(str(cert), str(key))
    server_ctx.verify_mode = ssl.CERT_REQUIRED

    async def run(client_ctx):
        async with AckServer(ssl_ctx=server_ctx) as srv:
            return await send_messages("127.0.0.1", srv.port, [adt(1), adt(2)], ssl=client_ctx,
                                       server_hostname="localhost", retries=0)

    ok = asyncio.run(run(make_ssl_context(cafile=str(cert), certfile=str(cert), keyfile=str(key))))
    assert ok.acked == {"AA": 2}
    no_cert = asyncio.run(run(make_ssl_context(cafile=str(cert))))
    assert no_cert.errors == 2 and not no_cert.acked


def test_parse_ack_honours_the_acks_own_separator():
    ack = parse_ack(frame("MSH#^~\\&#CCP#CCP#####ACK#1#P#2.5.1\rMSA#AE#MSG7#bad PID-3\rERR#"))
    assert (ack.code, ack.control_id, ack.text) == ("AE", "MSG7", "bad PID-3")
    assert parse_ack(b"\x0bnot hl7\x1c\r").code == ""


def test_control_id_of_reads_msh_10():
    assert control_id_of(adt(42)) == "MSG00042"
    assert control_id_of(b"EVN|A01\r") == ""


def test_percentiles_are_nearest_rank():
    s = SendSummary(latencies=[i / 1000 for i in range(1, 101)])
    assert s.percentile(50) == 0.05 and s.percentile(99) == 0.099 and s.percentile(100) == 0.1
    assert SendSummary().percentile(99) is None


def test_client_needs_a_connection():
    with pytest.raises(ValueError):
        MllpClient("127.0.0.1", 1, connections=0)
