"""Month close and statements for 1,000,000 member months through billing's store on PostgreSQL.

    .venv/bin/python bench/billing_close.py [--member-months 1000000] [--seed 7] [--keep]

Setup (not timed): a fresh database on the local PostgreSQL (started if needed), a population
split over the two example contracts (MMO-2026: any-day rule, PMPM by tier, seven bonus rules;
GR-2026: prorated, shared savings with a quality gate, cardiac carve-outs), 12 months of 2026,
~1 in 12 members with a mid-year start or end, one paid line per member month (5 % cardiac
codes), gap events for the bonus and gate measures for 1 member in 4, a fed satisfaction metric.
Each member goes through the domain's accrual rules and the rows are written with the store's
own bulk writer: the member-month, paid-line and ledger tables hold what the worker would have
written (PMPM fees and cost / carve-out entries, ~1.5 M ledger rows). Every contract is left
dirty, as after the last batch of the month.

Timed:
  close       each contract month in order (24): the first close of a contract recomputes its
              bonus and shared-savings estimates for the year (GROUP BY over the member-month and
              paid-line rows, measure rates from the gap events), posts them, and closes; the
              later ones find the estimates current and close
  statements  JSON and CSV of all 24 contract months (facts and ledger totals loaded once per
              contract)

Target: close + statements ≤ 10 s. Prints figures; asserts nothing.
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
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402 - RESULT lines for bench/run_all.py

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services.billing.adapters.database import contract_files, open_database  # noqa: E402
from services.billing.adapters.sql import copy_rows  # noqa: E402
from services.billing.adapters.tables import gap_events, ledger_entries, member_months  # noqa: E402
from services.billing.adapters.unit_of_work import LedgerLock, unit_of_work_factory  # noqa: E402
from services.billing.app.commands import close_month, ensure_default_contracts, feed_metric  # noqa: E402
from services.billing.app.context import CONTRACTS_APPLIED, Accruals, AccrualSettings  # noqa: E402
from services.billing.app.queries import statements  # noqa: E402
from services.billing.contracts import CONTRACTS_DIR  # noqa: E402
from services.billing.domain import (  # noqa: E402
    ContractBook, CoverageSpan, PaidLine, Posting, accrue_member, runs_text, statement_csv,
)
from services.billing.domain.periods import days_in, periods_between  # noqa: E402
from shared.events import derive_id  # noqa: E402

PERIODS = periods_between("2026-01", "2026-12")
TIERS = ("low", "moderate", "high", "complex")
CODES = ("99213", "99214", "99215", "80053", "71046")
CARDIAC = ("33533", "93458")
NOW = datetime(2027, 1, 5, tzinfo=timezone.utc)


def postgres_url() -> str:
    out = subprocess.run([sys.executable, str(REPO / "deploy/postgres/pgctl.py"), "start"], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return out.split("=", 1)[-1]


def population(member_months: int, rng: random.Random):
    total, n = 0, 0
    while total < member_months:
        n += 1
        contract = "MMO-2026" if n % 2 else "GR-2026"
        tier = rng.choices(TIERS, weights=(50, 30, 15, 5))[0]
        first, last = 1, 12
        if rng.random() < 1 / 12:
            first, last = rng.randint(1, 6), rng.randint(7, 12)
        last = min(last, first + (member_months - total) - 1)
        start = date(2026, first, rng.randint(1, 28) if first > 1 else 1)
        end = None if last == 12 else date(2026, last, rng.randint(1, days_in(PERIODS[last - 1])))
        lines = []
        for m in range(first, last + 1):
            day = date(2026, m, 28)
            if (end is None or day <= end) and day >= start:
                code = rng.choice(CARDIAC) if rng.random() < 0.05 else rng.choice(CODES)
                lines.append(PaidLine(f"C{n}-{m}", 1, day, code, None, rng.randint(40_000, 110_000)))
        total += last - first + 1
        yield f"M{n:07d}", contract, (CoverageSpan(start, end, contract, tier),), lines


def gap_rows(mid: str, contract: str, rng: random.Random) -> list[tuple]:
    measures = ("CMS130", "CMS125", "CMS165", "CMS122") if contract == "MMO-2026" else ("CMS165", "CMS122", "CMS130")
    rows = []
    for measure in measures:
        opened = datetime(2026, rng.randint(1, 6), 3, tzinfo=timezone.utc)
        rows.append(_gap(mid, contract, measure, "open", opened))
        if rng.random() < (0.85 if measure == "CMS122" else 0.75):
            closed = datetime(2026, rng.randint(opened.month, 12), 20, tzinfo=timezone.utc)
            rows.append(_gap(mid, contract, measure, "closed", closed))
    return rows


GAP_COLS = ("event_id", "contract_id", "gap_key", "measure_id", "status", "period_start", "period_end", "occurred_at",
            "recorded_at")


def _gap(mid, contract, measure, status, at) -> tuple:
    return (str(uuid.uuid4()), contract, f"{mid}|{measure}|2026", measure, status, date(2026, 1, 1),
            date(2026, 12, 31), at, at)


class NoBroker:
    """Where the producer stands: the bench has no broker (the close's entries are not sent)."""

    def send_sync(self, events) -> list:
        return []


def load(uow, book: ContractBook, member_months_target: int, rng: random.Random) -> dict:
    counts = {"members": 0, "ledger": 0, "months": 0, "lines": 0, "gaps": 0}
    chunk: list = []

    def flush() -> None:
        postings: list[Posting] = []
        months, lines, gaps = [], [], []
        for mid, contract, cov, paid in chunk:
            acc = accrue_member(mid, cov, paid, book, "2026-12")
            src = derive_id("bench", mid)
            postings.extend(Posting(derive_id(src, k.text()), k, v, k.period, src) for k, v in sorted(acc.postings.items()))
            months.extend((mid, m.period, m.contract_id, m.tier, runs_text(m.runs)) for m in acc.months)
            lines.extend((f"{mid}|{c.family}", mid, c.contract_id, c.period, c.procedure_code, c.revenue_code,
                          c.paid_cents) for c in acc.costs)
            if rng.random() < 0.25:
                gaps.extend(gap_rows(mid, contract, rng))
        with uow() as w:  # the store's own bulk writers
            w.ledger.append(postings, NOW)
            w.rows.replace_months([], months)
            w.rows.replace_costs([], lines)
            copy_rows(w.session, gap_events, GAP_COLS, gaps)
            w.commit()
        counts["members"] += len(chunk)
        counts["ledger"] += len(postings)
        counts["months"] += len(months)
        counts["lines"] += len(lines)
        counts["gaps"] += len(gaps)
        chunk.clear()

    for member in population(member_months_target, rng):
        chunk.append(member)
        if len(chunk) >= 5000:
            flush()
    if chunk:
        flush()
    return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--member-months", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args()
    pg = postgres_url()
    dbname = f"bench_billing_close_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    db = open_database(make_url(pg).set(database=dbname).render_as_string(hide_password=False), pool_size=2)
    try:
        uow = unit_of_work_factory(LedgerLock(db), NoBroker())
        ensure_default_contracts(uow, contract_files(CONTRACTS_DIR))
        accruals = Accruals(AccrualSettings(open_month_policy="fixed", open_month="2026-12", estimate_interval_s=0,
                                            clock=lambda: NOW))
        with uow() as w:
            ctx = accruals.context(w)
            w.books.set_state(CONTRACTS_APPLIED, ctx.book_key)
            w.commit()
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        counts = load(uow, ctx.book, args.member_months, rng)
        feed_metric(uow, "MMO-2026", "2026-01", "median_days_to_appointment", "6", "bench")
        with uow() as w:
            w.books.mark_dirty({"MMO-2026": "2026-01", "GR-2026": "2026-01"})
            w.commit()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        setup = time.perf_counter() - t0
        with uow(writer=False) as r:
            mm = r.session.scalar(select(func.count()).select_from(member_months))
            le = r.session.scalar(select(func.count()).select_from(ledger_entries))
        print(f"machine: {os.cpu_count()} CPU, Python {platform.python_version()}, PostgreSQL on loopback")
        print(f"setup (not timed): {counts['members']:,} members, {mm:,} member-month rows, {counts['lines']:,} paid "
              f"lines, {le:,} ledger entries, {counts['gaps']:,} gap events in {setup:.0f} s")

        posted: list = []
        t1 = time.perf_counter()
        per_close = []
        for cid in ("MMO-2026", "GR-2026"):
            for p in PERIODS:
                c0 = time.perf_counter()
                posted.extend(close_month(uow, accruals, cid, p, "bench"))  # no broker here
                per_close.append(time.perf_counter() - c0)
        t_close = time.perf_counter() - t1
        t2 = time.perf_counter()
        out = {}
        with uow(writer=False) as r:
            for cid in ("MMO-2026", "GR-2026"):
                for p, st in statements(r, ctx.book.get(cid), "2026-01", "2026-12").items():
                    out[(cid, p)] = (st, statement_csv(st))
        t_statements = time.perf_counter() - t2
        with uow(writer=False) as r:
            closed = r.books.closed()
        per_close.sort()
        print(f"close: 24 contract months in {t_close:.2f} s (first of each contract recomputes the year's "
              f"estimates; p50 {per_close[11] * 1000:.0f} ms, max {per_close[-1] * 1000:.0f} ms); "
              f"{len(posted)} estimate entries posted; {len(closed.closed)} months closed")
        print(f"statements: {len(out)} (JSON + CSV) in {t_statements:.2f} s")
        print(f"close + statements: {t_close + t_statements:.2f} s for {mm:,} member months (target <= 10 s)")
        report(f"Billing month close + statements, {mm:,} member-months (PostgreSQL)", t_close + t_statements, "s",
               target=10, better="lower")
        dec = out[("GR-2026", "2026-12")][0]["shared_savings"]
        mmo = out[("MMO-2026", "2026-12")][0]
        print(f"  GR-2026 2026-12: member months {dec['member_months']}, actual PMPM {dec['actual_pmpm']} vs "
              f"benchmark {dec['benchmark_pmpm']}, savings rate {dec['savings_rate']}, gate met "
              f"{dec['quality_gate_met']}, shared YTD {dec['shared_ytd']}")
        print(f"  MMO-2026 2026-12: member months {mmo['member_months']['member_months']}, fees "
              f"{mmo['member_months']['fees']}, bonuses {mmo['bonuses']['total']}")
    finally:
        db.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
