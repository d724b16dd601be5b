"""Outreach benchmark: task creation through the worker and claim-next through the API, on the
real broker and PostgreSQL, with N nurses claiming in parallel.

    .venv/bin/python bench/outreach_claim_next.py [--members 2000] [--nurses 1,4,8] [--claims 300]

What it does (bounded in count and time, loopback only):

1. starts (or finds) the local Kafka broker and PostgreSQL (deploy/kafka/kafkactl.py,
   deploy/postgres/pgctl.py), makes a fresh database and a fresh topic namespace;
2. builds members with the synthetic population generator (carectl.synth: practice, pod,
   risk tier, conditions) and, per member, the care gaps a measure engine would open;
3. handler only: applies the events with the worker's routes table in this process, batches of 500,
   straight into PostgreSQL (no Kafka) — the database side of task creation;
4. through the worker: starts ``python -m services.outreach worker``, produces the roster then
   the gap events, and measures drain throughput (tasks/s) and per-event latency (Kafka
   CreateTime of the gap event → CreateTime of the task's lifecycle event on outreach.tasks);
5. claim next: starts ``python -m services.outreach api``; N nurse threads call
   ``POST /api/queue/claim-next`` concurrently on the same queues (capacity 0 keeps the tasks
   unassigned so every nurse competes for the same rows); reports claims/s and latency, and
   checks no task was handed out twice.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402 - RESULT lines for bench/run_all.py

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from carectl.synth import SynthConfig  # noqa: E402
from carectl.synth.writer import World  # noqa: E402
from services.outreach.adapters.database import open_database  # noqa: E402
from services.outreach.adapters.unit_of_work import SqlUnitOfWork  # noqa: E402
from services.outreach.app.batch import TaskBatch  # noqa: E402
from services.outreach.app.staff import Staff  # noqa: E402
from services.outreach.routes import ROUTES  # noqa: E402
from services.outreach.settings import OutreachSettings  # noqa: E402
from shared.auth import UserDirectory, hash_key  # noqa: E402
from shared.events import EligibilitySpan, GapOpenedV1, MemberRosterV1  # noqa: E402
from shared.kafka import EventProducer  # noqa: E402
from shared.kafka_admin import delete_topics, ensure_topics
from shared.topics import all_topics  # noqa: E402
from tests.support import infra  # noqa: E402
from tests.support.procs import free_port, start_process, wait_for  # noqa: E402

PODS = ("pod-east", "pod-west", "pod-north", "pod-south", "pod-central")
REASONS = {"CMS130": "no colonoscopy on file", "CMS125": "no mammogram in 27 months",
           "CMS122": "most recent HbA1c above 9%", "CMS165": "last BP 148/92"}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def population(members: int, seed: int, prefix: str):
    """(roster events, gap events) for ``members`` synthetic members."""
    world = World(SynthConfig(members=members, seed=seed))
    now = datetime.now(timezone.utc)
    rosters, gaps = [], []
    for idx in range(members):
        p = world.person(idx)
        practice = world.practices[p.practice]
        member_id = f"{prefix}{p.member_id}"
        env = dict(occurred_at=now, recorded_at=now, source="bench", member_id=member_id)
        rosters.append(MemberRosterV1(
            **MemberRosterV1.envelope(**env), given_name=p.given_name, family_name=p.family_name,
            birth_date=p.birth_date, sex=p.sex if p.sex in ("F", "M") else "U", pcp_practice_id=practice.practice_id,
            pod=practice.pod, contract_id=p.contract_id, risk_tier=p.risk_tier,
            eligibility=(EligibilitySpan(start=p.eligibility_start),)))
        rng = random.Random(seed * 1_000_003 + idx)
        wanted = []
        if 46 <= p.age <= 75:
            wanted.append("CMS130")
        if p.sex == "F" and 52 <= p.age <= 74:
            wanted.append("CMS125")
        if "diabetes" in p.flags:
            wanted.append("CMS122")
        if "hypertension" in p.flags:
            wanted.append("CMS165")
        for measure in wanted:
            if rng.random() < 0.6:
                gaps.append(GapOpenedV1(
                    **GapOpenedV1.envelope(**env), gap_key=f"{member_id}|{measure}|2026", measure_id=measure,
                    measure_version="bench", period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                    reason=REASONS[measure], practice_id=practice.practice_id, contract_id=p.contract_id))
    return rosters, gaps


def users_file(path: Path, nurses: int) -> Path:
    users = [{"id": f"bench.nurse{i}", "name": f"Bench Nurse {i}", "roles": ["nurse"], "pods": list(PODS),
              "capacity": 0, "api_keys_sha256": [hash_key(f"bench-nurse-{i}")]} for i in range(nurses)]
    path.write_text(yaml.safe_dump({"users": users}))
    return path


def fresh_database(server_url: str) -> str:
    name = f"bench_outreach_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar() or 0
    except Exception:  # noqa: BLE001 - tables appear when the worker has started
        return 0
    finally:
        engine.dispose()


def handler_only(server_url: str, rosters, gaps, users: Path) -> tuple[set[int], float]:
    """Apply the events in-process; returns (indices of the gap events that made a task, seconds)."""
    url = fresh_database(server_url)
    try:
        db = open_database(url)
        handler = ROUTES.handler(SqlUnitOfWork.for_session,
                                 TaskBatch.starter(OutreachSettings(environment="test").decision_context(),
                                                   Staff(UserDirectory.load(users))))
        events = rosters + gaps
        started = time.perf_counter()
        for i in range(0, len(events), 500):
            with db.transaction() as s:
                handler(s, events[i:i + 500])
        elapsed = time.perf_counter() - started
        engine = create_engine(url)
        with engine.connect() as conn:
            causes = {row[0] for row in conn.execute(text("SELECT cause_event_id FROM tasks"))}
        engine.dispose()
        db.dispose()
        return {i for i, g in enumerate(gaps) if str(g.event_id) in causes}, elapsed
    finally:
        drop_database(server_url, url)


def lifecycle_latencies(settings: OutreachSettings, gap_ids: set[str], timeout: float = 60) -> list[float]:
    """Seconds from each gap event's CreateTime to its task's first lifecycle event's CreateTime."""
    from confluent_kafka import Consumer

    def read(topic: str) -> list:
        """Everything on the topic up to its current end (all partitions at EOF)."""
        from confluent_kafka import KafkaError

        c = Consumer({**settings.kafka_client_config(), "group.id": f"bench-{uuid.uuid4()}",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False, "enable.partition.eof": True})
        c.subscribe([settings.topic(topic)])
        out, at_end, deadline = [], set(), time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                for m in c.consume(1000, 0.5):
                    if m.error() is None:
                        out.append(m)
                        at_end.discard(m.partition())
                    elif m.error().code() == KafkaError._PARTITION_EOF:
                        at_end.add(m.partition())
                assigned = {tp.partition for tp in c.assignment()}
                if assigned and assigned <= at_end:
                    break
        finally:
            c.close()
        return out

    sent = {json.loads(m.value())["event_id"]: m.timestamp()[1] / 1000 for m in read("gaps.events")}
    done = {}
    for m in read("outreach.tasks"):
        body = json.loads(m.value())
        if body.get("from_status") is None and body.get("causation_id") in gap_ids:
            done[body["causation_id"]] = m.timestamp()[1] / 1000
    return [done[i] - sent[i] for i in done if i in sent]


def claim_run(base: str, nurses: int, claims: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    got: list[str] = []
    lock = threading.Lock()
    remaining = [claims]
    barrier = threading.Barrier(nurses)

    def nurse(i: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer bench-nurse-{i}"}, timeout=30) as c:
            barrier.wait()
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                t0 = time.perf_counter()
                r = c.post("/api/queue/claim-next")
                dt = time.perf_counter() - t0
                if r.status_code != 200:
                    raise SystemExit(f"claim-next answered {r.status_code}: {r.text[:200]}")
                with lock:
                    latencies.append(dt)
                    got.append(r.json()["task_id"])

    threads = [threading.Thread(target=nurse, args=(i,)) for i in range(nurses)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, got, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--nurses", default="1,4,8", help="parallel nurses per claim-next run")
    ap.add_argument("--claims", type=int, default=300, help="claims per run")
    ap.add_argument("--paced", type=int, default=100, help="gap events sent one by one at --rate")
    ap.add_argument("--rate", type=float, default=20.0, help="events/s of the paced phase")
    args = ap.parse_args()
    runs = [int(n) for n in args.nurses.split(",")]
    if args.members > 20000 or args.claims * len(runs) > 5000:
        raise SystemExit("bounded benchmark: at most 20,000 members and 5,000 claims in all")

    bootstrap = infra.kafka_bootstrap()
    server_url = infra.postgres_url()
    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    users = users_file(tmp / "users.yaml", max(runs))
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    base_settings = OutreachSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix, environment="test")
    created = ensure_topics(base_settings, all_topics())
    db_url = fresh_database(server_url)
    settings = base_settings.model_copy(update={"database_url": db_url})
    procs = []
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    try:
        rosters, gaps = population(args.members, args.seed, "B")
        print(f"population: {len(rosters)} members, {len(gaps)} gap.opened events (carectl.synth seed {args.seed})")

        h_rosters, h_gaps = population(args.members, args.seed, "H")
        making, secs = handler_only(server_url, h_rosters, h_gaps, users)
        n_events = len(h_rosters) + len(h_gaps)
        print(f"handler only (in-process, PostgreSQL, batches of 500): {n_events} events ({len(h_rosters)} roster "
              f"snapshots, {len(h_gaps)} gaps) → {len(making)} tasks in {secs:.2f} s = {n_events / secs:,.0f} events/s")

        env = {"KAFKA_BOOTSTRAP": bootstrap, "TOPIC_PREFIX": prefix, "DATABASE_URL": db_url,
               "USERS_FILE": str(users), "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"}
        wport, aport = free_port(), free_port()
        worker = start_process("outreach", "worker", {**env, "WORKER_PORT": str(wport)}, tmp, http_port=wport)
        procs.append(worker)
        worker.wait_healthy(60)
        producer = EventProducer(settings, client_id="bench")
        producer.send_sync(rosters)
        wait_for(lambda: count(db_url, "SELECT count(*) FROM member_profiles") >= len(rosters), 120,
                 what="roster stored")
        paced_n = min(args.paced, len(gaps) // 4)
        backlog, paced = gaps[:len(gaps) - paced_n], gaps[len(gaps) - paced_n:]
        want_backlog = sum(1 for i in making if i < len(backlog))
        started = time.perf_counter()
        producer.send_sync(backlog)
        produced = time.perf_counter() - started
        # members whose eligibility starts later get no task: the handler-only run tells how many do
        wait_for(lambda: count(db_url, "SELECT count(*) FROM tasks") >= want_backlog, 300, interval=0.05,
                 what="all tasks created")
        drained = time.perf_counter() - started
        print(f"through the worker (Kafka → faust → BatchConsumer → PostgreSQL → outreach.tasks), backlog: "
              f"{len(backlog)} events → {want_backlog} tasks in {drained:.2f} s = {len(backlog) / drained:,.0f} "
              f"events/s (producing took {produced:.2f} s)")
        lat = lifecycle_latencies(settings, {str(g.event_id) for g in backlog})
        print(f"  backlog latency gap event → lifecycle event: p50 {pct(lat, 50) * 1000:.0f} ms, "
              f"p95 {pct(lat, 95) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms ({len(lat)} matched)")
        report("Outreach worker draining a gap-event backlog", len(backlog) / drained, "events/s",
               note=f"{len(backlog)} events, lifecycle p99 {pct(lat, 99) * 1000:.0f} ms")
        for g in paced:  # a steady trickle: what one gap costs when the worker is idle
            producer.send_sync([g])
            time.sleep(1 / args.rate)
        wait_for(lambda: count(db_url, "SELECT count(*) FROM tasks") >= len(making), 60, interval=0.05,
                 what="paced tasks created")
        producer.close()
        lat = lifecycle_latencies(settings, {str(g.event_id) for g in paced})
        print(f"  paced at {args.rate:g}/s ({len(paced)} events): latency p50 {pct(lat, 50) * 1000:.0f} ms, "
              f"p95 {pct(lat, 95) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms ({len(lat)} matched)")
        report(f"Outreach gap event -> task lifecycle event p99, paced {args.rate:g}/s", pct(lat, 99) * 1000, "ms",
               better="lower")

        api = start_process("outreach", "api", {**env, "API_PORT": str(aport)}, tmp, http_port=aport)
        procs.append(api)
        api.wait_healthy(60)
        base = f"http://127.0.0.1:{aport}"
        handed: list[str] = []
        for n in runs:
            latencies, got, wall = claim_run(base, n, args.claims)
            handed += got
            ms = [x * 1000 for x in latencies]
            print(f"claim next, {n} parallel nurse(s): {len(got)} claims in {wall:.2f} s = {len(got) / wall:,.0f}/s; "
                  f"latency p50 {pct(ms, 50):.1f} ms, p95 {pct(ms, 95):.1f} ms, p99 {pct(ms, 99):.1f} ms, "
                  f"mean {statistics.fmean(ms):.1f} ms")
            report(f"Outreach claim-next, {n} parallel nurse(s)", len(got) / wall, "claims/s",
                   note=f"p99 {pct(ms, 99):.0f} ms")
        assert len(handed) == len(set(handed)), "a task was handed out twice"
        claimed = count(db_url, "SELECT count(*) FROM tasks WHERE status = 'claimed'")
        print(f"distinct tasks handed out: {len(set(handed))} of {len(handed)}; claimed in the database: {claimed}")
    finally:
        for p in procs:
            p.stop()
        drop_database(server_url, db_url)
        delete_topics(base_settings, created.keys())


if __name__ == "__main__":
    main()
