"""Micro benchmark of billing's pure core: month close and statements for 1,000,000 member months.

    .venv/bin/python bench/billing_micro.py [--member-months 1000000] [--seed 7]

A synthetic population split over the two example contracts (MMO-2026: any-day rule, PMPM by
tier, seven bonus rules; GR-2026: prorated, shared savings, cardiac carve-outs), 12 months of
2026, ~1 in 12 members with a mid-year start or end, one paid claim line per member month
(5 % cardiac codes). Phases, each timed on its own (one process, one core):

  accrue     per member: coverage → member months → PMPM / cost / carve-out postings
             → ledger diff against an empty ledger, January–November (what the worker
             does per member event)
  open       December opens: each member's new month only (``since``), diff, append
  claims     20,000 claim events (2 lines each; every 10th a replacement, every 20th a void)
             through the per-claim path: coverage from the roster snapshot, current
             version of the touched family, cost / carve-out postings, diff, append
  aggregate  member months and paid lines → per (contract, period) rows (the GROUP BY)
  close      each contract month in order: bonus and shared-savings estimates → ledger diff
             → close (24 contract months)
  statements JSON and CSV statement of each contract month (24)

The target in the issue — month close + statements for 1,000,000 member months ≤ 10 s — is
``aggregate + close + statements``: the accrual runs as events arrive, not at close.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.events import ClaimLine, ClaimV2, EligibilitySpan, MemberRosterV1, derive_id  # noqa: E402
from services.billing.contracts import example_contracts  # noqa: E402
from services.billing.domain import (  # noqa: E402
    ContractBook, CoverageSpan, FactsBuilder, Ledger, MeasureRate, MetricValue, PaidLine, accrue_claim_event, accrue_member,
    build_statement, close_month, statement_csv,
)
from services.billing.domain.periods import days_in, periods_between  # noqa: E402

PERIODS = periods_between("2026-01", "2026-12")
TIERS = ("low", "moderate", "high", "complex")
CODES = ("99213", "99214", "99215", "80053", "71046", "33533", "93458")


def population(member_months: int, seed: int):
    """(member id, coverage, paid lines) until the member months add up."""
    rng = random.Random(seed)
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
        cov = (CoverageSpan(start, end, contract, tier),)
        lines = []
        for m in range(first, last + 1):
            code = rng.choice(CODES) if rng.random() < 0.05 else rng.choice(CODES[:5])
            day = date(2026, m, 28)
            if (end is None or day <= end) and day >= start:
                lines.append(PaidLine(f"C{n}-{m}", 1, day, code, None, rng.randint(40_000, 160_000)))
        total += last - first + 1
        yield f"M{n:07d}", cov, lines


def claims_workload(members):
    """(member, claim event, the member's earlier claim events) and a roster snapshot per member."""
    rosters, out = {}, []
    for i, (mid, cov, _) in enumerate(members):
        span = cov[0]
        ts = datetime(2026, 1, 1, tzinfo=timezone.utc)
        rosters[mid] = [MemberRosterV1(
            **MemberRosterV1.envelope(occurred_at=ts, source="bench", member_id=mid, event_id=derive_id("r", mid)),
            given_name="B", family_name="B", birth_date=date(1960, 1, 1), sex="U", pcp_practice_id="P1",
            contract_id=span.contract_id, risk_tier=span.tier,
            eligibility=(EligibilitySpan(start=span.start, end=span.end),),
        )]
        day = max(span.start, date(2026, 6, 10)) if span.end is None or span.end >= date(2026, 6, 10) else span.start
        lines = (ClaimLine(line_number=1, procedure_code="99214", service_date=day, paid_amount=Decimal("112.40")),
                 ClaimLine(line_number=2, procedure_code="93458" if i % 20 == 3 else "80053", service_date=day,
                           paid_amount=Decimal("38.15")))
        original = ClaimV2(**ClaimV2.envelope(occurred_at=ts, source="bench", member_id=mid, event_id=derive_id("c", mid)),
                           claim_id=f"K{i}", claim_type="professional", lines=lines)
        out.append((mid, original, []))
        if i % 10 == 0 or i % 20 == 1:
            freq = "8" if i % 20 == 1 else "7"
            later = ClaimV2(**ClaimV2.envelope(occurred_at=ts, source="bench", member_id=mid, event_id=derive_id("c2", mid)),
                            claim_id=f"K{i}R", frequency_code=freq, original_claim_id=f"K{i}",
                            claim_type="professional", lines=lines if freq == "7" else ())
            out.append((mid, later, [original]))
    return out[:20_000], rosters


def timed(label: str, fn):
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"{label:<11} {dt:7.2f} s")
    return out, dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--member-months", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    contracts = example_contracts()
    book = ContractBook(contracts.values())
    members = list(population(args.member_months, args.seed))
    ledger = Ledger()

    def accrue():
        for mid, cov, lines in members:
            acc = accrue_member(mid, cov, lines, book, "2026-11")
            ledger.sync_member(mid, acc.postings, derive_id("bench-roster", mid))

    _, t_accrue = timed("accrue", accrue)
    first_entries = len(ledger.entries)

    def open_month():
        out = []
        for mid, cov, lines in members:
            acc = accrue_member(mid, cov, lines, book, "2026-12", since="2026-12")
            ledger.sync_member(mid, acc.postings, derive_id("open:2026-12", mid), since="2026-12")
            out.append(acc)
        return out

    opened, t_open = timed("open", open_month)

    claim_events, rosters = claims_workload(members[:20_000])

    def claims_phase():
        for mid, event, prior in claim_events:
            acc, families = accrue_claim_event(mid, rosters[mid], prior, event, book)
            ledger.sync_member(mid, acc.postings, event.event_id, families=families)

    _, t_claims = timed("claims", claims_phase)
    december = sum(len(a.months) for a in opened)
    accruals = [accrue_member(mid, cov, lines, book, "2026-12") for mid, cov, lines in members]  # untimed
    mm = sum(len(a.months) for a in accruals)

    def aggregate():
        fb = FactsBuilder()
        for a in accruals:
            fb.add_accrual(a)
        rng = random.Random(args.seed)
        for c in contracts:
            for p in PERIODS:
                for measure in ("CMS130", "CMS125", "CMS122", "CMS165", "FUP"):
                    low = measure == "CMS122"  # inverse measure: a low rate is good
                    fb.set_measure(c, p, measure, MeasureRate(rng.randint(100, 250) if low else rng.randint(550, 800), 1000))
                fb.set_metric(c, p, "readmission_rate", MetricValue.ratio(rng.randint(8, 20), 100))
                fb.set_metric(c, p, "median_days_to_appointment", MetricValue.of(rng.randint(4, 10)))
        return {c: fb.for_contract(c) for c in contracts}

    facts, t_agg = timed("aggregate", aggregate)
    rows = sum(len(f.member_months) + len(f.costs) for by_p in facts.values() for f in by_p.values())

    def close():
        posted = 0
        for c, contract in contracts.items():
            for p in PERIODS:
                posted += len(close_month(ledger, contract, p, facts[c], derive_id("close", f"{c}|{p}")))
        return posted

    posted, t_close = timed("close", close)

    def statements():
        out = []
        for c, contract in contracts.items():
            for p in PERIODS:
                st = build_statement(contract, p, facts[c], ledger.totals(c, p))
                out.append((st, statement_csv(st)))
        return out

    stmts, t_stmt = timed("statements", statements)
    print("-" * 40)
    print(f"members              {len(members):>10,}")
    print(f"member months        {mm:>10,}")
    print(f"ledger entries       {len(ledger.entries):>10,}")
    print(f"aggregate rows       {rows:>10,}")
    print(f"estimate entries     {posted:>10,} (bonus + shared savings at close)")
    print(f"statements           {len(stmts):>10,}")
    print(f"accrue rate          {(mm - december) / t_accrue:>10,.0f} member months/s ({first_entries:,} entries)")
    claim_lines = sum(len(e.lines) for _, e, _ in claim_events)
    print(f"claim path           {claim_lines / t_claims:>10,.0f} claim lines/s ({len(claim_events):,} events; pure core, no database)")
    print(f"open month           {december / t_open:>10,.0f} member months/s ({december:,} in December)")
    print(f"close + statements   {t_agg + t_close + t_stmt:>10.2f} s (aggregate + close + statements; target ≤ 10 s)")
    gr_dec = next(s for s, _ in stmts if s["contract_id"] == "GR-2026" and s["period"] == "2026-12")
    ss = gr_dec["shared_savings"]
    print(f"GR-2026 2026-12: mm {ss['member_months']}, savings {ss['savings']} ({ss['savings_rate']}), shared YTD {ss['shared_ytd']}")


if __name__ == "__main__":
    main()
