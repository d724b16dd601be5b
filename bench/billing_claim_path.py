"""The billing worker's claim path in one process on PostgreSQL, without Kafka: CPU per claim line.

    .venv/bin/python bench/billing_claim_path.py [--members 5000] [--claims 30000] [--lines 2]
                                                 [--rounds 1] [--profile FILE]

The same population and claims as ``bench/billing_claims.py`` (same generator and seed), applied
to a fresh database through what the worker runs for a batch: the ``processed_events`` dedupe and
the batch handler (roster first, then the claims in batches of 1,000), each batch in one
transaction. Measured: this process's CPU seconds over the claims (``time.process_time``: the
worker's share, not PostgreSQL's) and the wall time, so the figure is the handler's CPU per line
whatever else the machine runs. ``--profile FILE`` writes a cProfile of the claim batches.
The worker's own figure (``bench/billing_claims.py``) adds decoding the records, faust and the
producer. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import random  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from billing_claims import claims as make_claims, rosters  # noqa: E402
from common import report  # noqa: E402


def batch_applier(url: str):
    """``apply(events)``: one worker batch (dedupe + handler, one transaction) on ``url``;
    ``close()``."""
    from shared.db import claim_new_events

    try:  # the service in issue 16's shape: the routes table's handler
        from services.billing.adapters.database import contract_files, open_database
        from services.billing.adapters.unit_of_work import LedgerLock, SqlUnitOfWork, unit_of_work_factory
        from services.billing.app.commands import ensure_default_contracts
        from services.billing.contracts import CONTRACTS_DIR
        from services.billing.app.batch import LedgerBatch
        from services.billing.app.context import AccrualSettings
        from services.billing.routes import CONSUMER, ROUTES

        db = open_database(url, pool_size=2)
        writers = LedgerLock(db)
        ensure_default_contracts(unit_of_work_factory(writers, None), contract_files(CONTRACTS_DIR))
        handler = ROUTES.handler(SqlUnitOfWork.for_session, LedgerBatch.starter(
            AccrualSettings(open_month_policy="fixed", open_month="2026-10", estimate_interval_s=1.0)))
        transaction, processed = writers.transaction, db.processed
    except ImportError:  # before: the Billing class
        from services.billing.handlers import Billing
        from services.billing.store import BillingDatabase, processed

        CONSUMER = "billing.ledger"
        db = BillingDatabase(url, pool_size=2)
        db.create_schema()
        from services.billing.commands import ensure_default_contracts
        from services.billing.contracts import CONTRACTS_DIR

        ensure_default_contracts(db, CONTRACTS_DIR)
        handler = Billing(open_month_policy="fixed", open_month="2026-10", estimate_interval_s=1.0).handle
        transaction = db.transaction

    def apply(events) -> int:
        with transaction() as s:
            new = claim_new_events(s, processed, CONSUMER, (str(e.event_id) for e in events))
            fresh = [e for e in events if str(e.event_id) in new]
            return len(handler(s, fresh) or ())

    return apply, db.dispose


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--claims", type=int, default=30000)
    ap.add_argument("--lines", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--profile", default=None)
    args = ap.parse_args()
    pg = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://ccp:ccp@127.0.0.1:55432/ccp")
    dbname = f"bench_claimpath_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = make_url(pg).set(database=dbname).render_as_string(hide_password=False)
    apply, close = batch_applier(url)
    try:
        rng = random.Random(args.seed)
        roster = rosters(args.members, rng)
        for i in range(0, len(roster), args.batch):
            apply(roster[i:i + args.batch])
        batch = make_claims(args.members, args.claims, args.lines, rng)
        print(f"roster: {args.members} members applied", flush=True)
        lines = sum(len(c.lines) for c in batch)
        load0 = os.getloadavg()
        prof = cProfile.Profile() if args.profile else None
        entries = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        for i in range(0, len(batch), args.batch):
            entries += apply(batch[i:i + args.batch])
        if prof:
            prof.disable()
            prof.dump_stats(args.profile)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        load1 = os.getloadavg()
        print(f"claims: {args.claims} events, {lines} lines, {entries} ledger entries; load average "
              f"{load0[0]:.1f} -> {load1[0]:.1f}")
        print(f"  handler CPU {cpu:.2f} s ({lines / cpu:,.0f} lines per CPU-second), wall {wall:.2f} s "
              f"({lines / wall:,.0f} lines/s)")
        report("Billing claim path in process (handler + dedupe, PostgreSQL), per CPU-second", lines / cpu,
               "claim lines/CPU-s", note=f"{lines:,} lines")
    finally:
        close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
