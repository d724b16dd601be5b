"""Benchmark: how the workers scale out, and what one process needs (the capacity model's inputs).

1. claims backfill lines/s through intake -> gaps worker(s) with 1, 2 and 4 worker processes in
   one consumer group (``bench/gaps_backfill.py --workers K``, PostgreSQL, 6 partitions);
2. ADT alerts/s: a backlog of admissions (the synthetic population's ADT, as the gateway maps it,
   produced straight onto adt.events) drained by 1, 2 and 4 admissions workers; figures: ADT
   events/s and alerts/s, and per worker;
3. peak RSS (VmHWM) of every platform process after a 2,000-member feed (roster, 837 files through
   the intake API, ADT over MLLP): the requests/limits of the Kubernetes manifests come from these.

On a 2-core machine shared with the broker, PostgreSQL and the feed, more workers stop helping
once the cores are busy: the figures say where. The load average is printed beside them; run
it alone (other work on the machine lowers every figure).

    .venv/bin/python bench/scale_workers.py [--quick] [--members N] [--only backfill|adt|rss]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import ensure_kafka, ensure_postgres, report  # noqa: E402

WORKERS = (1, 2, 4)


def loadavg() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------- 1. backfill
def backfill(members: int) -> dict[int, float]:
    out = {}
    for k in WORKERS:
        before = loadavg()
        proc = subprocess.run([sys.executable, str(REPO / "bench" / "gaps_backfill.py"), "--members", str(members),
                               "--workers", str(k)], cwd=REPO / "bench", capture_output=True, text=True)
        m = re.search(r'RESULT (\{"figure": "gaps: claims backfill.*)', proc.stdout)
        if not m:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"gaps_backfill.py --workers {k} failed")
        import json

        rate = json.loads(m.group(1))["value"]
        out[k] = rate
        report(f"scale: claims backfill, {k} gaps worker(s)", rate, "lines/s",
               note=f"{members:,} members; {before} at start, {loadavg()} at end")
    return out


# ------------------------------------------------------------------------------- 2. ADT drain
def adt_drain(members: int, bootstrap: str, server_url: str) -> dict[int, tuple[float, float]]:
    from shared.kafka import EventProducer
    from shared.kafka_admin import delete_topics
    from tests.reliability.chaos_platform import create_topics, remove_faust_dirs
    from tests.reliability.feeds import make_population
    from tests.reliability.invariants import group_lag, rows
    from tests.reliability.worker_tools import adt_events, now, roster_events
    from tests.support.infra import Databases, new_topic_prefix
    from tests.support.procs import free_port, start_process, wait_for

    work = REPO / "var" / "bench" / f"scale-adt-{members}"
    if not (work / "manifest.json").exists():
        make_population(work, members=members, months=12, seed=31)
    roster, adts = roster_events(work / "roster.csv", now()), adt_events(work, now())
    databases = Databases(server_url, "bench_scale_")
    out = {}
    try:
        for k in WORKERS:
            prefix = new_topic_prefix("bench", 8)
            settings = create_topics(bootstrap, prefix, partitions=6)
            url = databases.new()
            env = {"KAFKA_BOOTSTRAP": bootstrap, "TOPIC_PREFIX": prefix, "DATABASE_URL": url, "WORKER_NICE": "0",
                   "LOG_LEVEL": "WARNING"}
            procs = []
            producer = EventProducer(settings, "bench-scale")
            try:
                m = start_process("admissions", "migrate", env, work, http_port=None)
                m.popen.wait(120)
                for _ in range(k):
                    port = free_port()
                    procs.append(start_process("admissions", "worker", {**env, "WORKER_PORT": str(port)}, work,
                                               http_port=port))
                for p in procs:
                    p.wait_healthy(120)
                for i in range(0, len(roster), 2000):
                    producer.send_sync(roster[i:i + 2000])
                group = f"{prefix}ccp-admissions-worker"
                inputs = ("members.roster", "adt.events")
                wait_for(lambda: group_lag(settings, group, inputs) == 0, 600, 0.5, "roster applied")
                before = loadavg()
                for i in range(0, len(adts), 2000):
                    producer.send_sync(adts[i:i + 2000])
                t0 = time.monotonic()
                wait_for(lambda: group_lag(settings, group, inputs) == 0, 900, 0.2, "ADT backlog drained")
                secs = time.monotonic() - t0
                alerts = rows(url, "SELECT count(*) FROM alerts")[0][0]
                out[k] = (len(adts) / secs, alerts / secs)
                report(f"scale: ADT backlog drained, {k} admissions worker(s)", round(len(adts) / secs), "events/s",
                       note=f"{len(adts):,} events, {alerts:,} alerts in {secs:.1f}s = {alerts / secs:,.0f} alerts/s; "
                            f"{before} at start")
            finally:
                producer.close()
                for p in procs:
                    p.stop()
                delete_topics(settings, [settings.topic(t.name) for t in _all()])
                remove_faust_dirs(prefix)
    finally:
        databases.drop_all()
    return out


def _all():
    from shared.topics import all_topics

    return all_topics()


# ------------------------------------------------------------------------------- 3. RSS
def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def process_rss(members: int, bootstrap: str, server_url: str) -> dict[str, float]:
    from tests.reliability import feeds, invariants
    from tests.reliability.chaos_platform import SERVICES, ChaosPlatform
    from tests.support.infra import Databases

    work = REPO / "var" / "bench" / f"scale-rss-{members}"
    if not (work / "synth" / "manifest.json").exists():
        feeds.make_population(work / "synth", members=members, months=3, seed=37)
    pop = work / "synth"
    databases = Databases(server_url, "bench_rss_")
    platform = ChaosPlatform(bootstrap, work / "platform", {s: databases.new() for s in SERVICES}, partitions=6,
                             log_level="WARNING")
    try:
        platform.start()
        api = platform.url(8090)
        feeds.load_roster(api, pop / "roster.csv")
        tally, adt = feeds.FileTally(), feeds.AdtTally()

        async def feed():
            await asyncio.gather(feeds.send_claims(api, feeds.claim_files(pop), tally),
                                 feeds.send_adt("127.0.0.1", platform.mllp_port, feeds.adt_items(pop), adt))

        asyncio.run(feed())
        invariants.quiesce(platform.settings, platform.group_id, timeout=600)
        out = {name: vm_hwm_mb(r.popen.pid) for name, r in platform.sup.running.items()}
        for name, mb in sorted(out.items()):
            report(f"scale: peak RSS of {name}", round(mb), "MB",
                   note=f"{members:,} members: roster, {tally.as_dict()['claims_accepted']:,} claims, "
                        f"{adt.acknowledged:,} ADT")
        return out
    finally:
        platform.stop()
        databases.drop_all()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--members", type=int, default=None, help="backfill population (default 20,000; quick 5,000)")
    ap.add_argument("--only", choices=("backfill", "adt", "rss"), action="append")
    args = ap.parse_args()
    only = set(args.only or ("backfill", "adt", "rss"))
    members = args.members or (5000 if args.quick else 20000)
    print(f"cores: {os.cpu_count()}; {loadavg()}")
    bootstrap = ensure_kafka()
    server = ensure_postgres()
    if "backfill" in only:
        rates = backfill(members)
        report("scale: claims backfill per worker (1 worker)", round(rates[1]), "lines/s per worker")
        best = max(rates, key=rates.get)
        print(f"backfill saturates at {best} worker(s): {rates}")
    if "adt" in only:
        drain = adt_drain(2000 if args.quick else 5000, bootstrap, server)
        report("scale: ADT events per admissions worker (1 worker)", round(drain[1][0]), "events/s per worker")
        report("scale: alerts per admissions worker (1 worker)", round(drain[1][1]), "alerts/s per worker")
    if "rss" in only:
        process_rss(1000 if args.quick else 2000, bootstrap, server)
    print(f"done; {loadavg()}")


if __name__ == "__main__":
    main()
