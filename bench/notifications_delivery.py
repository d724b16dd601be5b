#!/usr/bin/env python3
"""Notifications out: end-to-end latency, delivery throughput, backlog drain after an outage.

    python bench/notifications_delivery.py           # full: 60 s at 100 admissions/s, 20,000 notifications, 10-minute outage
    python bench/notifications_delivery.py --quick   # 20 s, 5,000 notifications, a 30 s outage

Starts the local broker and PostgreSQL if needed, fresh ``bench<hex>.`` topics and databases,
and the real processes (admissions mllp + worker, notifications worker); a local webhook
receiver (aiohttp) that verifies every signature with the ``standardwebhooks`` library.

(a) ADT A01 over MLLP at ``--rate`` admissions/s -> alert -> webhook received: p50/p95/p99 from
    the MLLP write to the receiver's read (target p99 <= 500 ms at 100/s);
(b) delivery throughput to one fast receiver: ``--count`` gap events written to gaps.events at
    once, notifications/s from the first write to the last notification received (>= 1,000/s);
(c) backlog drain: the receiver is down for ``--outage-s`` while gap events arrive at
    ``--outage-rate``/s; then it comes back: the time to the first delivery (the probe's
    backoff) and the drain rate of the backlog.
A figure that could not be measured is said so loudly (and reported as missing, never as 0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, Procs, report  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

from carectl.mllp_client import MllpClient  # noqa: E402
from shared.events import EligibilitySpan, GapOpenedV1, MemberRosterV1, MrnXref  # noqa: E402
from shared.kafka import EventProducer  # noqa: E402
from shared.kafka_admin import ensure_topics
from shared.settings import CommonSettings  # noqa: E402
from shared.topics import all_topics  # noqa: E402

WORK = REPO / "var" / "bench" / "notifications"
AUTHORITY = "BENCHHOSP"


def load() -> str:
    return f"load avg {os.getloadavg()[0]:.1f}"


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    return xs[max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))]


# ---------------------------------------------------------------------- infrastructure
def infra() -> tuple[str, str]:
    import importlib.util

    def mod(path: Path, name: str):
        spec = importlib.util.spec_from_file_location(name, path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)  # type: ignore[union-attr]
        return m

    kafkactl = mod(REPO / "deploy" / "kafka" / "kafkactl.py", "bench_kafkactl")
    kafkactl.start()
    pg = mod(REPO / "deploy" / "postgres" / "pgctl.py", "bench_pgctl").start()
    return f"127.0.0.1:{kafkactl.settings()['port']}", pg


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads) from /proc: a figure the
    machine's load does not inflate (0 when it is gone)."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        fields = open(path).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by the parts of the pipeline during one phase: the notifications worker
    processes, the PostgreSQL backends serving the notifications database (the service's own SQL
    work), the receiver's thread (aiohttp + signature verification) and, where given, others."""

    def __init__(self, parts: dict[str, Callable[[], float]]) -> None:
        self.parts = parts
        self.at: dict[str, float] = {}

    def start(self) -> "CpuMeter":
        self.at = {k: f() for k, f in self.parts.items()}
        return self

    def spent(self) -> dict[str, float]:
        return {k: f() - self.at[k] for k, f in self.parts.items()}


class PgBackends:
    """CPU of the backends connected to one database (pids from pg_stat_activity; a backend that
    ended during the phase is not counted, one that started is counted whole)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seen: dict[int, float] = {}

    def __call__(self) -> float:
        with self.engine.connect() as c:
            pids = [r[0] for r in c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                                 "AND pid <> pg_backend_pid()"))]
        for pid in pids:
            self.seen[pid] = cpu_seconds(pid) or self.seen.get(pid, 0.0)
        return sum(self.seen.values())


def cpu_note(spent: dict[str, float], n: int) -> str:
    return ", ".join(f"{k} {v * 1000 / n:.2f} ms" for k, v in spent.items())


def histogram_quantile(port: int, name: str, q: float) -> float | None:
    """A quantile from a process's Prometheus histogram, summed over its label sets: the upper bound
    of the first bucket holding ``q`` of the observations (as a dashboard would read it)."""
    buckets: dict[float, float] = {}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + "_bucket{"):
            le_text = line.split('le="', 1)[1].split('"', 1)[0]
            le = float("inf") if le_text == "+Inf" else float(le_text)
            buckets[le] = buckets.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return None
    return next(le for le in sorted(buckets) if buckets[le] >= q * total)




# ---------------------------------------------------------------------- the receiver
class Receiver:
    """aiohttp on its own thread and loop; records (arrival time, topic, patient) per webhook-id."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.secrets: list[str] = []
        self.seen: dict[str, tuple[float, str, str]] = {}
        self.duplicates = 0
        self.bad = 0
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._runner = None
        self._site = None
        self.tid = 0
        threading.Thread(target=self._main, daemon=True).start()
        while not self.tid:
            time.sleep(0.01)

    def _main(self) -> None:
        self.tid = threading.get_native_id()
        self.loop.run_forever()

    def cpu(self) -> float:
        return cpu_seconds(os.getpid(), self.tid)

    async def _handle(self, request):
        from aiohttp import web
        from standardwebhooks import Webhook, WebhookVerificationError

        body = await request.read()
        arrived = time.time()
        headers = {k.lower(): v for k, v in request.headers.items()}
        doc = None
        for secret in self.secrets:
            try:
                doc = Webhook(secret).verify(body, headers)
                break
            except (WebhookVerificationError, ValueError):
                continue
        if doc is None:
            with self.lock:
                self.bad += 1
            return web.Response(status=400)
        msg_id = headers["webhook-id"]
        with self.lock:
            if msg_id in self.seen:
                self.duplicates += 1
            else:
                self.seen[msg_id] = (arrived, doc["type"], doc["data"].get("patient", ""))
        return web.Response(status=204)

    async def _start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def up(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    def down(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(30)

    def count(self, topic: str) -> int:
        with self.lock:
            return sum(1 for _, t, _ in self.seen.values() if t == topic)

    def arrivals(self, topic: str) -> list[tuple[float, str]]:
        with self.lock:
            return [(at, patient) for at, t, patient in self.seen.values() if t == topic]

    def by_id(self, topic: str) -> dict[str, tuple[float, str]]:
        with self.lock:
            return {i: (at, patient) for i, (at, t, patient) in self.seen.items() if t == topic}


# ---------------------------------------------------------------------- events
def roster(i: int, now: datetime) -> MemberRosterV1:
    m = f"BM{i:07d}"
    return MemberRosterV1(**MemberRosterV1.envelope(occurred_at=now, source="bench", member_id=m),
                          given_name="Bench", family_name="Member", birth_date=date(1950, 1, 1), sex="F",
                          mrns=(MrnXref(mrn=f"MR{i:07d}", assigning_authority=AUTHORITY),), pcp_practice_id="P001",
                          hospitalist_group="HG-NORTH", pod="pod-east", contract_id="MMO-2026",
                          eligibility=(EligibilitySpan(start=date(2025, 1, 1)),))


def a01(i: int) -> bytes:
    ts = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S+0000")
    return (f"MSH|^~\\&|BENCHADT|{AUTHORITY}|CCP|CCP|{ts}||ADT^A01^ADT_A01|B{uuid.uuid4().hex[:16]}|P|2.5.1\r"
            f"EVN|A01|{ts}\rPID|1||MR{i:07d}^^^{AUTHORITY}^MR||Member^Bench||19500101|F\r"
            f"PV1|1|I|4W^412^A^{AUTHORITY}||||1922334455^Osler^William||||||||||||V{i:07d}|||||||||||||||||||||||||{ts}\r"
            ).encode()


def gap(i: int, measure: str) -> GapOpenedV1:
    m = f"BM{i:07d}"
    return GapOpenedV1(**GapOpenedV1.envelope(occurred_at=datetime.now(timezone.utc), source="bench", member_id=m),
                       gap_key=f"{m}|{measure}|{uuid.uuid4().hex[:6]}", measure_id=measure, measure_version="v13",
                       period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), reason="bench gap",
                       practice_id="P001", contract_id="MMO-2026")


def wait_until(pred, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def missing(figure: str, why: str) -> None:
    print(f"!!! {figure}: NOT MEASURED — {why}", flush=True)
    report(figure, float("nan"), "", note=f"not measured: {why}")


# ---------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rate", type=float, default=100.0, help="admissions/s over MLLP in (a)")
    ap.add_argument("--seconds", type=float, default=None, help="length of (a)")
    ap.add_argument("--count", type=int, default=None, help="notifications in (b)")
    ap.add_argument("--outage-s", type=float, default=None, help="receiver outage in (c)")
    ap.add_argument("--outage-rate", type=float, default=None, help="gap events/s during the outage")
    ap.add_argument("--workers", type=int, default=1, help="notifications worker processes (they share the "
                                                           "partitions and, through database leases, the deliveries)")
    args = ap.parse_args()
    seconds = args.seconds or (20.0 if args.quick else 60.0)
    count = args.count or (5000 if args.quick else 20000)
    outage = args.outage_s or (30.0 if args.quick else 600.0)
    outage_rate = args.outage_rate or (100.0 if args.quick else 50.0)
    admissions = int(seconds * args.rate)
    members = admissions + 10

    bootstrap, pg = infra()
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix)
    ensure_topics(settings, all_topics())
    sys.path.insert(0, str(REPO))
    from tests.support.infra import Databases, delete_topics_named, topic_names

    dbs = Databases(pg, name_prefix="bench_ntf_")
    adm_db, ntf_db = dbs.new(), dbs.new()
    procs = Procs(WORK)
    rx = Receiver(free_port())
    rx.up()
    try:
        common = {"KAFKA_BOOTSTRAP": bootstrap, "TOPIC_PREFIX": prefix}
        mllp_port, mllp_metrics, adm_worker = free_port(), free_port(), free_port()
        procs.start("admissions", "mllp", {**common, "DATABASE_URL": adm_db, "MLLP_PORT": str(mllp_port),
                                           "MLLP_METRICS_PORT": str(mllp_metrics)}, mllp_metrics)
        procs.start("admissions", "worker", {**common, "DATABASE_URL": adm_db, "WORKER_PORT": str(adm_worker)},
                    adm_worker)
        ntf_procs = []
        ntf_ports = []
        for _ in range(args.workers):
            port = free_port()
            ntf_ports.append(port)
            ntf_procs.append(procs.start("notifications", "worker", {
                **common, "DATABASE_URL": ntf_db, "WORKER_PORT": str(port), "OUTBOUND_ALLOW_NETWORKS": "127.0.0.1/32",
                "OUTBOUND_PORTS": "*"}, port))
        ntf_worker = ntf_ports[0]
        print(f"processes up ({load()})", flush=True)
        subscribe(ntf_db, rx)
        producer = EventProducer(settings, "bench-notifications")
        now = datetime.now(timezone.utc)
        producer.send_sync([roster(i, now) for i in range(members)])
        adm = create_engine(adm_db)
        ntf = create_engine(ntf_db)

        def count_rows(engine, sql: str) -> int:
            with engine.connect() as c:
                return c.execute(text(sql)).scalar() or 0

        if not wait_until(lambda: count_rows(adm, "SELECT count(*) FROM members") >= members
                          and count_rows(ntf, "SELECT count(*) FROM members") >= members, 180, 0.5):
            raise SystemExit("the roster did not reach both services")
        print(f"{members} members on the roster of both services ({load()})", flush=True)

        # (a) latency ---------------------------------------------------------------------
        pg_cpu = PgBackends(ntf)
        adm_procs = procs.running[:2]
        meter_parts = {"notifications worker": lambda: sum(cpu_seconds(p.pid) for p in ntf_procs),
                       "its PostgreSQL backends": pg_cpu, "receiver": rx.cpu}
        sent_at: dict[str, float] = {}
        acked_at: dict[str, float] = {}

        def on_result(r) -> None:
            if r.code == "AA":
                sent_at[f"Patient/BM{r.index:07d}"] = r.sent_at
                acked_at[f"Patient/BM{r.index:07d}"] = r.sent_at + (r.latency or 0.0)

        meter = CpuMeter({**meter_parts, "admissions mllp+worker": lambda: sum(cpu_seconds(p.pid) for p in adm_procs)})
        meter.start()
        client = MllpClient("127.0.0.1", mllp_port, connections=4, rate=args.rate, ack_timeout=30, on_result=on_result)
        summary = asyncio.run(client.send([a01(i) for i in range(admissions)]))
        print(f"(a) sent {summary.sent} A01 at {args.rate:g}/s: ACKs {dict(summary.acked)} ({load()})", flush=True)
        wait_until(lambda: rx.count("encounter-start") >= len(sent_at), 60, 0.2)
        spent = meter.spent()
        lat = [at - sent_at[p] for at, p in rx.arrivals("encounter-start") if p in sent_at]
        lat = lat[min(50, len(lat) // 10):] if len(lat) > 100 else lat  # warm-up excluded
        short = len(sent_at) - rx.count("encounter-start")
        if len(lat) < 20:
            missing(f"ADT over MLLP -> webhook received p99 at {args.rate:g} admissions/s",
                    f"only {len(lat)} notifications arrived of {len(sent_at)} admissions")
        else:
            note = (f"p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, {len(lat)} notifications"
                    + (f", {short} MISSING" if short else "") + f", {load()}")
            hop = histogram_quantile(ntf_worker, "notifications_delivery_latency_seconds", 0.99)
            note += f"; notifications hop (alert recorded -> acknowledged) p99 <= {hop * 1000:.0f} ms" if hop else ""
            note += "; CPU per admission: " + cpu_note(spent, len(lat))
            report(f"ADT over MLLP -> webhook received p99 at {args.rate:g} admissions/s (admissions mllp+worker, "
                   f"notifications worker, signature verified)", pct(lat, 99) * 1000, "ms", target=500,
                   better="lower", note=note)
            stages(ntf, rx.by_id("encounter-start"), sent_at, acked_at,
                   produced_at(bootstrap, settings.topic("alerts.hospitalist"), len(sent_at)))

        # (a2) the notifications hop alone ---------------------------------------------------
        hop_alone(ntf, rx, producer, members, args.rate, min(seconds, 20.0))

        # (b) throughput ------------------------------------------------------------------
        events = [gap(i % members, ("CMS130", "CMS125", "CMS122", "CMS165")[i // members % 4]) for i in range(count)]
        base = rx.count("care-gap-opened")
        t0 = time.time()
        meter = CpuMeter(meter_parts).start()
        producer.send_sync(events)
        ok = wait_until(lambda: rx.count("care-gap-opened") - base >= count, 600, 0.2)
        got = [x for x in rx.arrivals("care-gap-opened") if x[0] >= t0]
        if not got:
            missing("Delivery throughput to one receiver", "no notification arrived")
        else:
            t_last = max(a for a, _ in got)
            rate = len(got) / (t_last - t0)
            spent = meter.spent()
            cpu_ms = spent["notifications worker"] * 1000 / len(got)
            pg_ms = spent["its PostgreSQL backends"] * 1000 / len(got)
            rx_ms = spent["receiver"] * 1000 / len(got)
            report("Notifications worker CPU per delivered notification (consume, fan out, lease, sign, send, record)",
                   cpu_ms, "ms", better="lower",
                   note=f"{1000 / cpu_ms:,.0f} notifications per CPU-second; {load()}")
            report("PostgreSQL CPU per delivered notification (the notifications database's backends)", pg_ms, "ms",
                   better="lower", note=load())
            # What a quiet 2-core machine could do: the worker is one process (one core at most, the GIL), and
            # worker + its database + the receiver share two cores (the broker's share is small and not counted)
            bound = min(1000 / cpu_ms, 2000 / (cpu_ms + pg_ms + rx_ms))
            report("Delivery throughput on a quiet 2-core machine, ESTIMATED from CPU per notification (not measured)",
                   bound, "notifications/s", target=1000,
                   note=f"min(1 core / worker {cpu_ms:.2f} ms, 2 cores / (worker + PostgreSQL {pg_ms:.2f} ms + "
                        f"receiver {rx_ms:.2f} ms)); an estimate, not a measurement")
            report(f"Delivery throughput to one webhook receiver ({count:,} gap events on Kafka -> signed webhooks, "
                   f"{args.workers} worker process{'es' if args.workers > 1 else ''})",
                   rate, "notifications/s", target=1000,
                   note=(f"{len(got):,} in {t_last - t0:.1f} s" + ("" if ok else f", {count - len(got)} MISSING")
                         + f", {load()}"))

        # (c) outage and drain ------------------------------------------------------------
        before = rx.count("care-gap-opened")
        rx.down()
        t_down = time.monotonic()
        n_out = int(outage * outage_rate)
        batch = max(1, int(outage_rate))
        sent = 0
        while sent < n_out:
            start = time.monotonic()
            chunk = [gap((sent + k) % members, "CMS165") for k in range(min(batch, n_out - sent))]
            producer.send_sync(chunk)
            sent += len(chunk)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - start)))
        time.sleep(max(0.0, outage - (time.monotonic() - t_down)))
        print(f"(c) receiver down {time.monotonic() - t_down:.0f} s while {n_out} events arrived ({load()})", flush=True)
        t_up = time.time()
        meter = CpuMeter(meter_parts).start()
        rx.up()
        ok = wait_until(lambda: rx.count("care-gap-opened") - before >= n_out, max(600, outage), 0.2)
        drained = [a for a, _ in rx.arrivals("care-gap-opened")][before:]
        arrivals = sorted(a for a, _ in rx.arrivals("care-gap-opened"))[before:]
        if not arrivals:
            missing("Backlog drain after a receiver outage", "nothing was delivered after the receiver came back")
        else:
            first, last = arrivals[0] - t_up, arrivals[-1] - t_up
            report(f"Backlog drain after a {outage / 60:.1f}-minute receiver outage ({n_out:,} owed)",
                   len(arrivals) / max(1e-3, arrivals[-1] - arrivals[0]), "notifications/s",
                   note=(f"first delivery {first:.1f} s after the receiver returned (probe backoff), all in {last:.1f} s"
                         + ("" if ok else f", {n_out - len(drained)} MISSING") + f", {load()}; CPU per notification: "
                         + cpu_note(meter.spent(), len(arrivals))))
        print(f"receiver: {len(rx.seen):,} distinct ids, {rx.duplicates} redeliveries of a known id, "
              f"{rx.bad} bad signatures", flush=True)
        producer.close()
        adm.dispose()
        ntf.dispose()
    finally:
        procs.stop_all()
        rx.down()
        dbs.drop_all()
        if not os.environ.get("CCP_KEEP_TOPICS"):
            delete_topics_named(bootstrap, sorted(t for t in topic_names(bootstrap) if t.startswith(prefix)))


def hop_alone(engine, rx: Receiver, producer: EventProducer, members: int, rate: float, seconds: float) -> None:
    """Gap events written to gaps.events one at a time at ``rate``/s -> webhook received: the
    notifications service's own latency (no admissions in the path), split into intake (write ->
    stored), dispatch (stored -> attempt started) and send (-> received)."""
    from services.notifications.domain.model import notification_id

    sent: dict[str, float] = {}
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        event = gap(i % members, "CMS122")
        at = time.time()
        producer.send_sync([event])
        sent[str(notification_id(event.event_id, "care-gap-opened"))] = at
    wait_until(lambda: all(k in rx.seen for k in sent), 60, 0.2)
    received = rx.by_id("care-gap-opened")
    with engine.connect() as c:
        rows = {r[0]: (r[1].timestamp(), r[2].timestamp()) for r in c.execute(text(
            "SELECT ne.event_id, ne.created_at, min(a.at) FROM notification_events ne JOIN attempts a "
            "ON a.event_id = ne.event_id WHERE ne.event_id = ANY(:ids) GROUP BY ne.event_id, ne.created_at"),
            {"ids": list(sent)})}
    total, intake, dispatch, send = [], [], [], []
    for event_id, t0 in sent.items():
        if event_id in received and event_id in rows:
            arrived, (stored, attempt) = received[event_id][0], rows[event_id]
            total.append(arrived - t0)
            intake.append(stored - t0)
            dispatch.append(attempt - stored)
            send.append(arrived - attempt)
    if len(total) < 20:
        missing(f"Notifications hop alone at {rate:g}/s", f"only {len(total)} of {n} notifications arrived")
        return
    total = total[len(total) // 10:]
    report(f"Notifications hop alone p99 (gap event written to Kafka -> signed webhook received, {rate:g}/s)",
           pct(total, 99) * 1000, "ms", better="lower",
           note=f"p50 {pct(total, 50) * 1000:.0f} ms; p50/p99: intake (write -> stored) {pct(intake, 50) * 1000:.0f}/"
                f"{pct(intake, 99) * 1000:.0f} ms, dispatch (stored -> attempt) {pct(dispatch, 50) * 1000:.0f}/"
                f"{pct(dispatch, 99) * 1000:.0f} ms, send {pct(send, 50) * 1000:.0f}/{pct(send, 99) * 1000:.0f} ms; "
                f"{len(total)} notifications, {load()}")


def produced_at(bootstrap: str, topic: str, expect: int) -> dict[str, float]:
    """event_id -> the Kafka timestamp (the producer's create time) of every message on ``topic``."""
    import json

    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out: dict[str, float] = {}
    deadline = time.monotonic() + 30
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for m in c.consume(500, 1.0):
                if m.error() is None and m.value():
                    out[json.loads(m.value())["event_id"]] = m.timestamp()[1] / 1000
    finally:
        c.close()
    return out


def stages(engine, received: dict[str, tuple[float, str]], sent_at: dict[str, float],
           acked_at: dict[str, float], alert_produced: dict[str, float]) -> None:
    """Where the time of (a) goes, per notification: MLLP write -> ACK (admissions gateway: parse,
    durable write to adt.events) -> alert recorded (admissions worker: consume, decide) -> alert
    produced (admissions worker: the rest of its batch; the Kafka create time) -> notification
    stored (notifications intake: the Kafka hop, the batch, its processing) -> first attempt
    started (the commit, the dispatcher's wake-up and lease) -> received (build, sign, HTTP)."""
    with engine.connect() as c:
        rows = c.execute(text("SELECT ne.event_id, ne.source_event_id, ne.recorded_at, ne.created_at, min(a.at) "
                              "FROM notification_events ne JOIN attempts a ON a.event_id = ne.event_id "
                              "WHERE ne.topic = 'encounter-start' "
                              "GROUP BY ne.event_id, ne.source_event_id, ne.recorded_at, ne.created_at")).all()
    names = ("gateway (write -> ACK)", "admissions worker (ACK -> alert recorded)",
             "admissions worker (recorded -> produced)", "notifications intake (produced -> stored)",
             "dispatch (stored -> attempt)", "send (attempt -> received)")
    cols: dict[str, list[float]] = {k: [] for k in names}
    for event_id, source_id, recorded, created, attempt in rows:
        got = received.get(event_id)
        if got is None or got[1] not in sent_at or source_id not in alert_produced:
            continue
        s0, s1 = sent_at[got[1]], acked_at[got[1]]
        r, p, c_, a = recorded.timestamp(), alert_produced[source_id], created.timestamp(), attempt.timestamp()
        for k, v in zip(names, (s1 - s0, r - s1, p - r, c_ - p, a - c_, got[0] - a)):
            cols[k].append(v)
    if not any(cols.values()):
        print("!!! stage timestamps: NOT MEASURED — no notification joined its alert and its attempt", flush=True)
        return
    print("(a) where the time goes (p50 / p99 ms): " + "; ".join(
        f"{k} {pct(v, 50) * 1000:.0f} / {pct(v, 99) * 1000:.0f}" for k, v in cols.items() if v), flush=True)
    hop = [sum(x) for x in zip(*(cols[k] for k in names[3:]))]
    report("Notifications hop p99 (alert on Kafka -> webhook received; stage timestamps)", pct(hop, 99) * 1000, "ms",
           better="lower", note="; ".join(f"{k} p50 {pct(v, 50) * 1000:.0f} ms p99 {pct(v, 99) * 1000:.0f} ms"
                                          for k, v in cols.items() if v) + f"; {load()}")


def subscribe(db_url: str, rx: Receiver) -> None:
    """Two webhook subscriptions through the service's own use case (as the API makes them)."""
    from services.notifications.adapters.database import migrate
    from services.notifications.adapters.secretbox import SecretBox
    from services.notifications.adapters.subscriptions_sql import SqlSubscriptionStore, SystemResolver
    from services.notifications.app.subscriptions import Limits, Subscriptions
    from services.notifications.domain.access import Actor
    from services.notifications.domain.endpoints import OutboundPolicy

    db = migrate(db_url)
    subs = Subscriptions(SqlSubscriptionStore(db, SecretBox.from_setting(None, False)),
                         OutboundPolicy.parse(require_tls=False, ports="*", networks="127.0.0.1/32"),
                         SystemResolver(), Limits(default_max_in_flight=64))
    ops = Actor("bench", frozenset({"ops"}))
    now = datetime.now(timezone.utc)
    for topic in ("encounter-start", "care-gap-opened"):
        _, secret = subs.create(ops, {"channel": "webhook", "endpoint": f"http://127.0.0.1:{rx.port}/{topic}",
                                      "topics": [topic], "max_in_flight": 64}, now)
        rx.secrets.append(secret)
    db.dispose()


if __name__ == "__main__":
    main()
