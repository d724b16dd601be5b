#!/usr/bin/env python3
"""Reliability figures: the platform under a synthetic feed while its processes and its Kafka
broker are SIGKILLed in turn at random moments (≥ 50 cycles), compared with a crash-free run of
the same feed.

    python bench/reliability.py                       # 50 cycles, 3,000 members, 3 months
    python bench/reliability.py --cycles 10 --members 1000 --months 2 --no-reference

Starts what it needs: a private single-node Kafka broker (own data dir and ports, from the jars
deploy/kafka resolves, so the shared broker on 9092 is never killed) and PostgreSQL via
deploy/postgres (``DATABASE_URL`` to use another server); one fresh database per service per run,
dropped afterwards. Loopback only; bounded by ``--timeout``.

Prints the counts (kill cycles, ADT frames sent, messages acknowledged, NAKed, effects,
duplicates, lost) and whether the ledger rebuilt from the topics equals the live ledger.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, ensure_postgres, machine, report  # noqa: E402


from tests.reliability.crash_run import crash_run  # noqa: E402
from tests.reliability.invariants import compare_sets  # noqa: E402
from tests.reliability.private_broker import PrivateBroker  # noqa: E402
from tests.support.infra import Databases, kafkactl  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--members", type=int, default=3000)
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--no-reference", action="store_true", help="skip the crash-free run of the same feed")
    ap.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    args = ap.parse_args()

    def give_up(*_):
        raise SystemExit(f"reliability benchmark exceeded --timeout {args.timeout:.0f}s")

    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(int(args.timeout))
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}", flush=True)
    pg = ensure_postgres()
    databases = Databases(pg, "relbench_")
    new_database = databases.new

    if not kafkactl().jars_present():
        kafkactl().resolve()
    work = Path(tempfile.mkdtemp(prefix="ccp-reliability-"))
    broker = PrivateBroker(work / "kafka")
    broker.start()
    ok = True
    try:
        kw = dict(members=args.members, months=args.months, seed=args.seed,
                  log=lambda s: print(f"[{time.strftime('%H:%M:%S')}] {s}", flush=True))
        reference = None
        if not args.no_reference:
            print("== crash-free run of the feed (the reference)", flush=True)
            reference = crash_run(broker, new_database, work / "reference", cycles=[], **kw)
            print(reference.figure(), flush=True)
        print(f"== {args.cycles} kill cycles", flush=True)
        result = crash_run(broker, new_database, work / "crashes", cycles=args.cycles, **kw)
        print(result.figure(), flush=True)
        a = result.adt
        report("reliability: kill cycles", len(result.cycles), "cycles", target=50)
        report("reliability: ADT frames sent", a.sent, "frames")
        report("reliability: ADT messages acknowledged (AA)", a.acknowledged, "messages")
        report("reliability: ADT NAKs (AE, resent)", a.naked, "answers")
        report("reliability: ADT sends without an answer (resent)", a.no_answer, "sends")
        for name, n in result.effects.items():
            report(f"reliability: effects, {name}", n, "rows/events")
        report("reliability: duplicate side effects", result.duplicate_count, "effects", target=0, better="lower")
        report("reliability: acknowledged then lost", result.lost, "messages/events", target=0, better="lower")
        report("reliability: ledger rebuilt equals live (1 = yes)", int(result.rebuild_ok), "", target=1)
        ok = result.lost == 0 and result.duplicate_count == 0 and result.rebuild_ok and result.not_acknowledged == 0
        if reference is not None:
            diff = compare_sets(reference.sets, result.sets)
            sizes = {k: len(v) for k, v in reference.sets.items()}
            print(f"effects compared with the crash-free run: {sizes}", flush=True)
            if diff:
                print(f"DIFFERENCES: {diff}", flush=True)
            report("reliability: effect sets differing from the crash-free run", len(diff), "sets", target=0,
                   better="lower")
            ok = ok and not diff
    finally:
        broker.stop()
        databases.drop_all()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    print("reliability: PASS" if ok else "reliability: FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
