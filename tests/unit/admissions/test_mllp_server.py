"""The MLLP listener, in process, over asyncio streams on 127.0.0.1 (its own socket; no Kafka)."""

from __future__ import annotations

import asyncio
import random
import ssl
import subprocess
from contextlib import asynccontextmanager

import pytest

from services.admissions.mllp.framing import Frame, MllpDecoder, frame
from services.admissions.mllp.gateway import AdtGateway, GatewayConfig, MemoryDedupeStore
from services.admissions.mllp.hooks import Counters
from services.admissions.mllp.server import MllpServer
from services.admissions.mllp.tls import server_ssl_context

from .builders import TZ, hl7_message


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Feed:
    """The injected side: a publish that records (or fails), a dead letter that records."""

    def __init__(self, fail_publish: bool = False, delays: bool = False):
        self.fail_publish = fail_publish
        self.delays = delays
        self.published = []
        self.dead = []

    async def publish(self, event, raw):
        if self.delays:
            await asyncio.sleep(random.random() / 100)
        if self.fail_publish:
            raise ConnectionError("broker unreachable")
        self.published.append((event, raw))

    async def dead_letter(self, raw, reason, code):
        self.dead.append((raw, reason, code))


@asynccontextmanager
async def listening(feed, *, ssl_ctx=None, **kw):
    gw = AdtGateway(feed.publish, feed.dead_letter, MemoryDedupeStore(), GatewayConfig(default_tz=TZ), Counters())
    server = MllpServer(gw, host="127.0.0.1", port=0, ssl=ssl_ctx, **kw)
    await server.start()
    try:
        yield server
    finally:
        await server.close(grace=1)


class Client:
    def __init__(self, reader, writer):
        self.reader, self.writer, self.decoder, self.frames = reader, writer, MllpDecoder(1 << 24), []

    @classmethod
    async def connect(cls, server, ssl_ctx=None):
        return cls(*await asyncio.open_connection("127.0.0.1", server.port, ssl=ssl_ctx))

    async def send(self, data: bytes):
        self.writer.write(data)
        await self.writer.drain()

    async def acks(self, n: int) -> list[str]:
        while len(self.frames) < n:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("closed")
            self.frames += [e.payload.decode() for e in self.decoder.feed(data) if isinstance(e, Frame)]
        out, self.frames = self.frames[:n], self.frames[n:]
        return out

    def close(self):
        self.writer.close()


def msa(ack: str) -> list[str]:
    return next(s for s in ack.split("\r") if s.startswith("MSA")).split("|")


def err3(ack: str) -> str:
    return next(s for s in ack.split("\r") if s.startswith("ERR")).split("|")[3]


def test_two_frames_in_one_write_get_two_acks_in_order():
    async def go():
        feed = Feed()
        async with listening(feed) as server:
            c = await Client.connect(server)
            await c.send(frame(hl7_message(control_id="A").encode()) + frame(hl7_message("A03", control_id="B").encode()))
            acks = await c.acks(2)
            c.close()
        assert [msa(a)[1:3] for a in acks] == [["AA", "A"], ["AA", "B"]]
        assert [e.trigger for e, _ in feed.published] == ["A01", "A03"]
    run(go())


def test_a_frame_split_across_writes():
    async def go():
        feed = Feed()
        async with listening(feed) as server:
            c = await Client.connect(server)
            data = frame(hl7_message(control_id="S").encode())
            for i in range(0, len(data), 7):
                await c.send(data[i:i + 7])
                await asyncio.sleep(0)
            ack, = await c.acks(1)
            c.close()
        assert msa(ack)[1:3] == ["AA", "S"]
        assert feed.published[0][1] == hl7_message(control_id="S").encode()  # raw bytes passed to publish
    run(go())


def test_5mb_message_is_refused_with_a_nak_and_the_connection_serves_the_next():
    async def go():
        feed = Feed()
        async with listening(feed, max_frame_bytes=1 << 20) as server:
            c = await Client.connect(server)
            huge = (hl7_message(control_id="BIG") + "\rNTE|1||" + "x" * (5 * 1024 * 1024)).encode()
            await c.send(frame(huge) + frame(hl7_message(control_id="NEXT").encode()))
            refused, ok = await c.acks(2)
            c.close()
        assert msa(refused)[1:3] == ["AR", "BIG"] and err3(refused).startswith("207^")
        assert "larger than the 1048576 bytes" in refused
        assert msa(ok)[1:3] == ["AA", "NEXT"]
        assert len(feed.published) == 1
        raw, reason, code = feed.dead[0]
        assert code == 207 and "larger" in reason and raw.startswith(b"MSH|") and len(raw) <= 64 * 1024
    run(go())


def test_idle_connection_is_closed_and_a_partial_frame_is_dead_lettered():
    async def go():
        feed = Feed()
        async with listening(feed, idle_timeout=0.3) as server:
            c = await Client.connect(server)
            await c.send(b"\x0b" + hl7_message(control_id="HALF").encode()[:40])
            data = await asyncio.wait_for(c.reader.read(100), 5)
            assert data == b"", "the server closes the idle connection without an answer"
            assert server.hooks.open_connections == 0
        assert feed.dead and feed.dead[0][2] == 100 and "cut short" in feed.dead[0][1]
        assert not feed.published
    run(go())


def test_truncated_frame_gets_a_nak_and_the_next_frame_is_served():
    async def go():
        feed = Feed()
        async with listening(feed) as server:
            c = await Client.connect(server)
            await c.send(b"\x0b" + hl7_message(control_id="CUT").encode()[:60] + frame(hl7_message(control_id="OK").encode()))
            cut, ok = await c.acks(2)
            c.close()
        assert msa(cut)[1] == "AR" and err3(cut).startswith("100^")
        assert msa(ok)[1:3] == ["AA", "OK"]
    run(go())


def test_duplicates_get_the_same_ack_and_one_publish():
    async def go():
        feed = Feed()
        async with listening(feed) as server:
            msg = frame(hl7_message(control_id="DUP").encode())
            c1, c2 = await Client.connect(server), await Client.connect(server)
            await c1.send(msg + msg)
            await c2.send(msg)
            a1 = await c1.acks(2)
            a2 = await c2.acks(1)
            c1.close(), c2.close()
            assert server.hooks.duplicates == 2
        assert a1[0] == a1[1] == a2[0]
        assert len(feed.published) == 1
    run(go())


def test_publish_failure_answers_ae_never_aa_and_a_retry_is_processed_afresh():
    async def go():
        feed = Feed(fail_publish=True)
        async with listening(feed) as server:
            c = await Client.connect(server)
            msg = frame(hl7_message(control_id="RETRY").encode())
            await c.send(msg)
            failed, = await c.acks(1)
            feed.fail_publish = False
            await c.send(msg)
            ok, = await c.acks(1)
            c.close()
            assert server.hooks.failures["publish"] == 1
        assert msa(failed)[1:3] == ["AE", "RETRY"] and err3(failed).startswith("207^")
        assert msa(ok)[1:3] == ["AA", "RETRY"]
        assert len(feed.published) == 1 and not feed.dead
    run(go())


def test_bad_messages_are_nakked_dead_lettered_and_the_connection_goes_on():
    bad = {
        "ORU": (hl7_message().replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01"), "AR", 200),
        "A99": (hl7_message("A99"), "AR", 201),
        "3.0": (hl7_message(version="3.0"), "AR", 203),  # not HL7 v2 (2.9 is now accepted with a warning)
        "no PID-3": (hl7_message(mrn=""), "AE", 101),
        "garbage": ("\x00\x01garbage", "AR", 100),
    }

    async def go():
        feed = Feed()
        async with listening(feed) as server:
            c = await Client.connect(server)
            for raw, _, _ in bad.values():
                await c.send(frame(raw.encode()))
            await c.send(frame(hl7_message(control_id="GOOD").encode()))
            acks = await c.acks(len(bad) + 1)
            c.close()
        for (raw, code, hl7_code), ack, (dead_raw, reason, dead_code) in zip(bad.values(), acks, feed.dead):
            assert msa(ack)[1] == code and err3(ack).startswith(f"{hl7_code}^")
            assert dead_raw == raw.encode() and dead_code == hl7_code and reason
        assert msa(acks[-1])[1:3] == ["AA", "GOOD"]
    run(go())


def test_junk_between_frames_is_dead_lettered_but_blank_lines_are_not():
    async def go():
        feed = Feed()
        async with listening(feed) as server:
            c = await Client.connect(server)
            await c.send(b"noise" + frame(hl7_message(control_id="J").encode()) + b"\r\n")
            ack, = await c.acks(1)
            c.close()
            await asyncio.sleep(0.05)
        assert msa(ack)[1] == "AA"
        assert [(raw, code) for raw, _, code in feed.dead] == [(b"noise", 100)]
    run(go())


def test_many_connections_each_get_their_acks_in_order():
    async def go():
        feed = Feed(delays=True)
        async with listening(feed) as server:
            async def one(n):
                c = await Client.connect(server)
                ids = [f"C{n}-{i}" for i in range(5)]
                await c.send(b"".join(frame(hl7_message(control_id=i).encode()) for i in ids))
                acks = await c.acks(5)
                c.close()
                return ids, [msa(a)[2] for a in acks]
            results = await asyncio.gather(*(one(n) for n in range(16)))
        assert all(sent == got for sent, got in results)
        assert len(feed.published) == 80
    run(go(), timeout=60)


def test_connections_beyond_the_limit_are_closed_and_counted_while_open_ones_are_served():
    async def go():
        feed = Feed()
        async with listening(feed, max_connections=1) as server:
            first = await Client.connect(server)
            await first.send(frame(hl7_message(control_id="L1").encode()))
            assert msa((await first.acks(1))[0])[1] == "AA"
            second = await Client.connect(server)
            assert await asyncio.wait_for(second.reader.read(100), 5) == b""  # closed at once
            await first.send(frame(hl7_message(control_id="L2").encode()))
            assert msa((await first.acks(1))[0])[1] == "AA"
            first.close()
            assert server.hooks.failures["connection_limit"] == 1
    run(go())


# ----------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")

    def make(name):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.pem"), "-days", "1",
             "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True)
        return d / f"{name}.pem", d / f"{name}.key"
    return {"server": make("server"), "client": make("client")}


def client_ctx(certs, with_cert):
    ctx = ssl.create_default_context(cafile=str(certs["server"][0]))
    if with_cert:
        ctx.load_cert_chain(*map(str, certs["client"]))
    return ctx


def test_tls_listener_answers_over_tls(certs):
    async def go():
        feed = Feed()
        async with listening(feed, ssl_ctx=server_ssl_context(*certs["server"])) as server:
            c = await Client.connect(server, client_ctx(certs, with_cert=False))
            await c.send(frame(hl7_message(control_id="TLS").encode()))
            ack, = await c.acks(1)
            c.close()
        assert msa(ack)[1:3] == ["AA", "TLS"]
    run(go())


def test_mutual_tls_refuses_a_client_without_a_certificate(certs):
    async def go():
        feed = Feed()
        ctx = server_ssl_context(*certs["server"], client_ca_file=certs["client"][0], require_client_cert=True)
        async with listening(feed, ssl_ctx=ctx) as server:
            c = await Client.connect(server, client_ctx(certs, with_cert=True))
            await c.send(frame(hl7_message(control_id="MTLS").encode()))
            ack, = await c.acks(1)
            c.close()
            assert msa(ack)[1:3] == ["AA", "MTLS"]
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                anon = await Client.connect(server, client_ctx(certs, with_cert=False))
                await anon.send(frame(hl7_message(control_id="ANON").encode()))
                await anon.acks(1)
        assert [e.message_control_id for e, _ in feed.published] == ["MTLS"]
    run(go())
