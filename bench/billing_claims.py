"""Claims cost accrual through the billing worker on the real broker and PostgreSQL.

    .venv/bin/python bench/billing_claims.py [--members 5000] [--claims 30000] [--lines 2]

Starts (or finds) the local broker and PostgreSQL, creates fresh topics (a unique prefix) and
a fresh database, starts ``python -m services.billing worker`` as a subprocess, loads the
roster (members split over MMO-2026 and GR-2026, mixed tiers, 1 in 12 with a mid-year
start), waits until it is applied, then produces the claims (each ``--lines`` paid lines,
5 % cardiac codes, every 10th a replacement and every 20th a void of an earlier claim) and
measures until the worker has applied all of them: claim lines per second, and the time
from a claim's production to its ledger entries (p50/p95/p99 over the entries' recorded_at).
Data is generated inline (carectl/synth writes files — 837/CSV — that the intake loads turn
into events; billing's bench feeds events directly). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402 - RESULT lines for bench/run_all.py

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from shared.events import ClaimLine, ClaimV2, EligibilitySpan, MemberRosterV1  # noqa: E402
from shared.kafka import EventProducer  # noqa: E402
from shared.kafka_admin import delete_topics, ensure_topics
from shared.settings import CommonSettings  # noqa: E402
from shared.topics import all_topics  # noqa: E402

TIERS = ("low", "moderate", "high", "complex")
CODES = ("99213", "99214", "99215", "80053", "71046")
CARDIAC = ("33533", "93458")


def start_infra() -> tuple[str, str]:
    subprocess.run([sys.executable, str(REPO / "deploy/kafka/kafkactl.py"), "start"], check=True,
                   stdout=subprocess.DEVNULL)
    url = subprocess.run([sys.executable, str(REPO / "deploy/postgres/pgctl.py"), "start"], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return "127.0.0.1:9092", url.split("=", 1)[-1]


def rosters(n: int, rng: random.Random) -> list[MemberRosterV1]:
    out = []
    for i in range(n):
        start = date(2026, 1, 1) if rng.random() > 1 / 12 else date(2026, rng.randint(2, 6), rng.randint(1, 28))
        out.append(MemberRosterV1(
            **MemberRosterV1.envelope(occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc), source="bench",
                                      member_id=f"B{i:06d}"),
            given_name="Bench", family_name="Member", birth_date=date(1955, 1, 1), sex="U", pcp_practice_id="P001",
            contract_id="MMO-2026" if i % 2 else "GR-2026", risk_tier=rng.choices(TIERS, (50, 30, 15, 5))[0],
            eligibility=(EligibilitySpan(start=start),)))
    return out


def claims(members: int, count: int, lines: int, rng: random.Random) -> list[ClaimV2]:
    out: list[ClaimV2] = []
    now = datetime.now(timezone.utc)
    for i in range(count):
        mid = f"B{rng.randrange(members):06d}"
        freq, original, claim_id = "1", None, f"K{i:07d}"
        if i >= 100 and i % 10 == 0 or i >= 100 and i % 20 == 0:
            prior = out[rng.randrange(i // 2, i)]
            mid, freq, original = prior.member_id, ("8" if i % 20 == 0 else "7"), prior.claim_id
        ls = tuple(ClaimLine(
            line_number=k + 1, procedure_code=rng.choice(CARDIAC) if rng.random() < 0.05 else rng.choice(CODES),
            service_date=date(2026, rng.randint(1, 10), rng.randint(1, 28)), charge_amount=Decimal("200.00"),
            paid_amount=Decimal(rng.randint(4000, 16000)) / 100) for k in range(lines)) if freq != "8" else ()
        first = min((ln.service_date for ln in ls), default=date(2026, 1, 1))
        out.append(ClaimV2(
            **ClaimV2.envelope(occurred_at=datetime(first.year, first.month, first.day, tzinfo=timezone.utc),
                               recorded_at=now, source="bench", member_id=mid),
            claim_id=f"{claim_id}{'R' if freq == '7' else 'V' if freq == '8' else ''}", frequency_code=freq,
            original_claim_id=original, claim_type="professional", lines=ls))
    return out


def count(engine, sql: str) -> int:
    with engine.connect() as conn:
        try:
            return int(conn.execute(text(sql)).scalar() or 0)
        except Exception:  # noqa: BLE001 - schema not created yet
            return 0


def wait(engine, sql: str, target: int, timeout: float, proc) -> float:
    started = time.perf_counter()
    while count(engine, sql) < target:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited with {proc.returncode}")
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"timed out: {count(engine, sql)} of {target}")
        time.sleep(0.2)
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--claims", type=int, default=30000)
    ap.add_argument("--lines", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    bootstrap, pg = start_infra()
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix)
    created = ensure_topics(settings, all_topics())
    dbname = f"bench_billing_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = make_url(pg).set(database=dbname).render_as_string(hide_password=False)
    engine = create_engine(url)
    rng = random.Random(args.seed)
    env = {**os.environ, "KAFKA_BOOTSTRAP": bootstrap, "TOPIC_PREFIX": prefix, "DATABASE_URL": url,
           "OPEN_MONTH_POLICY": "fixed", "OPEN_MONTH": "2026-10", "WORKER_PORT": "0", "LOG_LEVEL": "WARNING",
           "ENVIRONMENT": "test", "PYTHONPATH": str(REPO)}
    env["WORKER_PORT"] = str(18041 + os.getpid() % 1000)
    log = open(REPO / "var" / "bench-billing-worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "services.billing", "worker"], env=env, cwd=REPO, stdout=log,
                              stderr=subprocess.STDOUT)
    producer = EventProducer(settings, client_id="bench")
    try:
        roster = rosters(args.members, rng)
        producer.send_sync(roster)
        t_roster = wait(engine, "SELECT count(*) FROM roster_snapshots", args.members, 600, worker)
        print(f"roster: {args.members} members applied in {t_roster:.1f} s (with PMPM accrual Jan–Oct)")
        batch = claims(args.members, args.claims, args.lines, rng)
        total_lines = sum(len(c.lines) for c in batch)
        cpu0 = cpu_seconds(worker.pid)
        t0 = time.perf_counter()
        for i in range(0, len(batch), 5000):
            producer.send_sync(batch[i:i + 5000])
        t_produce = time.perf_counter() - t0
        t_apply = wait(engine, "SELECT count(*) FROM claim_events", args.claims, 1800, worker) + 0
        elapsed = time.perf_counter() - t0
        worker_cpu = cpu_seconds(worker.pid) - cpu0
        entries = count(engine, "SELECT count(*) FROM ledger_entries WHERE account IN ('cost_of_care','carve_out')")
        with engine.connect() as conn:
            lat = conn.execute(text(
                "SELECT percentile_cont(ARRAY[0.5,0.95,0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM "
                "(l.recorded_at - c.recorded_at))) FROM ledger_entries l JOIN "
                "(SELECT event_id, (payload::json->>'recorded_at')::timestamptz AS recorded_at FROM claim_events) c "
                "ON c.event_id = l.source_event_id")).scalar()
        print(f"machine: {os.cpu_count()} CPU, Python {platform.python_version()}, PostgreSQL + Kafka on loopback")
        print(f"claims: {args.claims} events, {total_lines} lines (every 10th a replacement, every 20th a void)")
        print(f"  produced in {t_produce:.1f} s; applied by the worker {elapsed:.1f} s after the first was sent "
              f"({t_apply:.1f} s waiting)")
        print(f"  throughput: {total_lines / elapsed:,.0f} claim lines/s ({args.claims / elapsed:,.0f} claims/s); "
              f"{entries} cost / carve-out entries")
        if worker_cpu:
            print(f"  worker CPU: {worker_cpu:.1f} s for the claims ({total_lines / worker_cpu:,.0f} lines per CPU "
                  f"second; the steadier figure on a shared machine)")
        report("Billing claims cost accrual through the worker (PostgreSQL)", total_lines / elapsed, "claim lines/s",
               target=3000, note=f"{total_lines:,} lines")
        if lat:
            print(f"  produce → ledger entry: p50 {lat[0]:.2f} s, p95 {lat[1]:.2f} s, p99 {lat[2]:.2f} s "
                  f"(includes the queue while the producer runs ahead)")
    finally:
        producer.close()
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()
        delete_topics(settings, created.keys())


if __name__ == "__main__":
    main()
