"""Backpressure and limits of the MLLP listener (``python -m services.admissions mllp``), on a
private broker the test stops, hangs and restarts:

- broker down (SIGKILL): every message is answered AE within the publish timeout (never AA,
  never a hang); the listener's memory stays bounded while 100 connections keep sending for a
  while; when the broker is back, AA again without restarting the listener;
- broker hung (SIGSTOP: connections stay open, nothing answers): AE within the publish timeout,
  AA again after SIGCONT;
- slow database (the duplicate table locked): ACKs stay timely (the database is not on the ACK
  path: accepted ACKs are written behind) and are AA — the write is in Kafka;
- database unreachable when the listener (re)starts: it still listens and acknowledges, and
  writes the accepted ACKs behind once the database is back.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from sqlalchemy import create_engine, text

from carectl.mllp_client import MllpClient, MessageResult
from tests.reliability.chaos_platform import create_topics
from tests.support.procs import free_port, start_process, wait_for
from tests.support.infra import new_topic_prefix

pytestmark = pytest.mark.timeout(600)

PUBLISH_TIMEOUT_S = 3.0
SLACK_S = 1.5  # scheduling on 2 shared cores


def adt(control_id: str, mrn: str = "BP1") -> bytes:
    segs = [
        f"MSH|^~\\&|EPICADT|MERCY|CCP|CCP|20261102080000-0500||ADT^A04^ADT_A01|{control_id}|P|2.5.1",
        "EVN|A04|20261102080000-0500",
        f"PID|1||{mrn}^^^MERCY^MR||Testcase^Pat||19500203|F",
        "PV1|1|E|ED^1^A^MERCY||||1922334455^Osler^William" + "|" * 12 + f"V{control_id}",
    ]
    return ("\r".join(segs) + "\r").encode()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def send(port: int, messages: list[bytes], connections: int = 1, ack_timeout: float = 20.0) -> list[MessageResult]:
    results: list[MessageResult] = []
    client = MllpClient("127.0.0.1", port, connections=connections, ack_timeout=ack_timeout, retries=0,
                        connect_timeout=3.0, on_result=results.append)
    asyncio.run(client.send(messages))
    return results


class Listener:
    def __init__(self, broker, db_url: str, tmp_path) -> None:
        self.prefix = new_topic_prefix("bp", 8)
        self.settings = create_topics(broker.bootstrap, self.prefix, 2)
        self.port, self.metrics_port = free_port(), free_port()
        self.env = {"KAFKA_BOOTSTRAP": broker.bootstrap, "TOPIC_PREFIX": self.prefix, "DATABASE_URL": db_url,
                    "MLLP_PORT": str(self.port), "MLLP_METRICS_PORT": str(self.metrics_port),
                    "PUBLISH_TIMEOUT_S": str(PUBLISH_TIMEOUT_S), "PRODUCER_TIMEOUT_S": str(PUBLISH_TIMEOUT_S)}
        self.tmp = tmp_path
        self.proc = None

    def start(self, **extra):
        self.proc = start_process("admissions", "mllp", {**self.env, **extra}, self.tmp, http_port=self.metrics_port)
        self.proc.wait_healthy(timeout=60)
        return self

    def accepted(self, cid: str, timeout: float = 60) -> MessageResult:
        """Send one message until it is accepted (the broker may still be finding its feet)."""
        def once():
            r = send(self.port, [adt(cid)])[0]
            return r if r.code == "AA" else None
        return wait_for(once, timeout=timeout, interval=0.5, what=f"AA for {cid}")

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()


@pytest.fixture
def listener(private_broker, new_database, tmp_path):
    if not private_broker.alive():
        private_broker.start()
    lst = Listener(private_broker, new_database(), tmp_path)
    yield lst
    lst.stop()
    if not private_broker.alive():
        private_broker.start()


def test_broker_down_timely_ae_bounded_memory_and_ingest_resumes_without_restart(listener, private_broker):
    listener.start()
    pid = listener.proc.popen.pid
    listener.accepted("BP-BEFORE")
    rss_start = rss_mb(pid)

    private_broker.kill()
    # 100 connections, each sending as soon as it is answered, for ~25 s with the broker down.
    results: list[MessageResult] = []
    samples: list[tuple[float, float]] = []
    stop = time.monotonic() + 25

    async def flood():
        async def messages():
            i = 0
            while time.monotonic() < stop:
                i += 1
                yield adt(f"BP-DOWN-{i}", mrn=f"BPM{i % 500}")

        async def sample():
            t0 = time.monotonic()
            while time.monotonic() < stop + PUBLISH_TIMEOUT_S + SLACK_S:
                samples.append((time.monotonic() - t0, rss_mb(pid)))
                await asyncio.sleep(0.5)

        client = MllpClient("127.0.0.1", listener.port, connections=100, ack_timeout=30, retries=0,
                            on_result=results.append)
        await asyncio.gather(client.send(messages()), sample())

    asyncio.run(flood())
    codes = {r.code for r in results}
    latencies = sorted(r.latency for r in results if r.latency is not None)
    peak = max(m for _, m in samples)
    later = [m for t, m in samples if t >= 10]
    print(f"\nbroker down: {len(results)} messages over 100 connections, answers {sorted(codes)}, "
          f"AE latency max {latencies[-1]:.2f}s (publish timeout {PUBLISH_TIMEOUT_S}s); listener RSS "
          f"{rss_start:.0f} MB before, peak {peak:.0f} MB, last 15 s {min(later):.0f}-{max(later):.0f} MB")
    assert len(results) >= 300, "100 connections for 25 s should have sent hundreds of messages"
    assert codes == {"AE"}, f"every message refused with AE while Kafka is down, got {codes}"
    assert all(r.error is None for r in results), "no hang, no dropped connection"
    assert latencies[-1] <= PUBLISH_TIMEOUT_S + SLACK_S
    # Bounded: memory does not keep growing while the broker stays down.
    assert max(later) - min(later) < 25, samples
    assert peak - rss_start < 150, samples

    private_broker.start()
    back = time.monotonic()
    listener.accepted("BP-AFTER", timeout=90)
    print(f"AA again {time.monotonic() - back:.1f}s after the broker answered, same listener process")
    assert listener.proc.alive() and listener.proc.popen.pid == pid


def test_broker_hung_gives_timely_ae_then_aa_after_it_resumes(listener, private_broker):
    listener.start()
    listener.accepted("BP-H0")
    broker_pid = private_broker.pid()
    os.kill(broker_pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        results = send(listener.port, [adt(f"BP-H{i}") for i in range(1, 4)], ack_timeout=30)
        took = time.monotonic() - started
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    assert [r.code for r in results] == ["AE", "AE", "AE"], results
    assert max(r.latency for r in results) <= PUBLISH_TIMEOUT_S + SLACK_S, results
    assert took <= 3 * (PUBLISH_TIMEOUT_S + SLACK_S)
    listener.accepted("BP-H9", timeout=90)


def test_slow_database_is_not_on_the_ack_path(listener, private_broker):
    listener.start()
    listener.accepted("BP-S0")
    holder = create_engine(listener.env["DATABASE_URL"]).connect()
    tx = holder.begin()
    holder.execute(text("LOCK TABLE mllp_acks IN ACCESS EXCLUSIVE MODE"))  # write-behind flushes wait
    try:
        time.sleep(1.0)  # a flush is now blocked on the lock
        results = send(listener.port, [adt(f"BP-S{i}") for i in range(1, 21)])
    finally:
        tx.rollback()
        holder.close()
    assert [r.code for r in results] == ["AA"] * 20
    assert max(r.latency for r in results) <= 1.0, [round(r.latency, 3) for r in results]
    # After the lock, the accepted ACKs reach the table (a resend after a restart gets the same ACK).
    engine = create_engine(listener.env["DATABASE_URL"])
    try:
        wait_for(lambda: engine.connect().execute(text(
            "SELECT count(*) FROM mllp_acks WHERE control_id LIKE 'BP-S%'")).scalar() == 21, timeout=30,
            what="ACKs written behind")
    finally:
        engine.dispose()


class Relay:
    """A TCP relay from a local port to PostgreSQL, started when the test says so (the database
    'comes back')."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.server = None

    def start(self) -> None:
        import socket
        import threading

        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", self.port))
        self.server.listen(16)

        def pump(a, b):
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                for x in (a, b):
                    try:
                        x.close()
                    except OSError:
                        pass

        def accept():
            while True:
                try:
                    client, _ = self.server.accept()
                except OSError:
                    return
                upstream = socket.create_connection(self.target)
                threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
                threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def test_listener_starts_and_acknowledges_while_its_database_is_unreachable(listener, private_broker):
    from sqlalchemy.engine import make_url

    real = make_url(listener.env["DATABASE_URL"])
    relay = Relay(free_port(), (real.host, real.port))
    via_relay = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    listener.start(DATABASE_URL=via_relay)  # nothing listens there yet
    assert listener.accepted("BP-NODB", timeout=30).code == "AA"
    # The database comes back: the schema is created and the ACK written behind.
    relay.start()
    engine = create_engine(listener.env["DATABASE_URL"])
    try:
        def written():
            try:
                with engine.connect() as conn:
                    return conn.execute(text("SELECT count(*) FROM mllp_acks WHERE control_id = 'BP-NODB'")).scalar()
            except Exception:  # noqa: BLE001 - table not created yet
                return 0
        wait_for(written, timeout=60, what="the ACK written once the database is back")
    finally:
        engine.dispose()
        relay.stop()
