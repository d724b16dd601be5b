"""Full CMS-HCC re-score of 100,000 members through the risk service's use case on PostgreSQL.

    .venv/bin/python bench/risk_scoring.py [--members 100000] [--seed 11] [--keep]

Setup (not timed): a fresh database on the local PostgreSQL (started if needed); members on the
two example contracts (MMO-2026: the computed tier rules; GR-2026: the roster's), ages 40-95,
each with 0-8 claim versions over the last 14 months (office visits with chronic diagnoses
that map to HCCs, a few replacements and voids, ED claims), ADT ED visits and inpatient stays
for 1 in 6, an open care gap for 1 in 3, a dual/institutional segment for 1 in 8; written with
the service's own repository.

Timed: ``parallel_full_rescore`` (2 processes by default, one per core, each a range of member
ids): every member's claims, encounters, readmissions, gaps and segment read
back in chunks of 2,000, scored (hccinfhir V28, PY2026 normalization), tiered by the contract's
policy, the assessment and its explanation upserted, tier changes collected (not sent: no broker
here; publishing 30k events is ~0.5 s at the broker's measured ceiling). Also: the pure
per-member assessment (in memory).

Target: a full re-score of 100,000 members <= 60 s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from functools import partial
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, report  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services.risk.adapters.reference import load_normalization, load_policies  # noqa: E402
from services.risk.adapters.repository import SqlRiskRepository, open_database  # noqa: E402
from services.risk.adapters.parallel import parallel_full_rescore  # noqa: E402
from services.risk.app.context import RiskContext  # noqa: E402
from services.risk.domain.assessment import assess  # noqa: E402
from services.risk.domain.claims import ClaimFacts  # noqa: E402
from services.risk.domain.members import AdtEncounter, Member  # noqa: E402
from services.risk.domain.segments import Segment  # noqa: E402

TODAY = date(2026, 11, 30)
CHRONIC = ("E119", "E1122", "E1140", "E1165", "I509", "I5022", "I10", "J449", "N184", "N183", "F329", "F200",
           "C189", "C50911", "G309", "I480", "M1711", "E6601", "Z6841", "I2510")
ED_DX = ("R079", "R109", "J069", "M545", "N390", "S93401A", "K0889", "I5022")
UTC = timezone.utc


def postgres_url() -> str:
    out = subprocess.run([sys.executable, str(REPO / "deploy/postgres/pgctl.py"), "start"], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return out.split("=", 1)[-1]


def member(i: int, rng: random.Random) -> Member:
    born = date(1931 + rng.randint(0, 55), rng.randint(1, 12), rng.randint(1, 28))
    return Member(f"B{i:07d}", born, rng.choice("FM"), f"P{rng.randint(1, 12):03d}",
                  "MMO-2026" if i % 3 else "GR-2026", rng.choices(("low", "moderate", "high", "complex"),
                                                                  (50, 30, 15, 5))[0],
                  eligibility=((date(2025, 1, 1), None),), roster_at=datetime(2026, 1, 1, tzinfo=UTC))


def facts(m: Member, rng: random.Random) -> tuple[list[ClaimFacts], list[AdtEncounter]]:
    claims, encs = [], []
    conditions = rng.sample(CHRONIC, rng.choice((0, 1, 1, 2, 2, 3, 4)))
    for k in range(rng.randint(0, 8)):
        day = TODAY - timedelta(days=rng.randint(1, 420))
        cid = f"{m.member_id}-C{k}"
        ed = rng.random() < 0.08
        dx = (rng.choice(ED_DX),) if ed else tuple(conditions[:rng.randint(1, max(1, len(conditions)))] or ("Z0000",))
        at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=12)
        base = dict(member_id=m.member_id, family=cid, claim_id=cid, service_from=day, service_to=day, diagnoses=dx,
                    ra_eligible=True, ed_day=day if ed else None)
        claims.append(ClaimFacts(event_id=str(uuid.uuid4()), occurred_at=at, frequency="1", **base))
        if rng.random() < 0.05:   # a replacement or a void of that claim
            claims.append(ClaimFacts(event_id=str(uuid.uuid4()), occurred_at=at + timedelta(days=20),
                                     frequency=rng.choice("78"), **base))
    if rng.random() < 1 / 6:
        day = TODAY - timedelta(days=rng.randint(1, 360))
        arrival = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=rng.uniform(0, 24))
        encs.append(AdtEncounter(m.member_id, f"H|V{m.member_id}", rng.choice(("ed", "inpatient")), arrival, day,
                                 rng.choice(ED_DX)))
    return claims, encs


def parts(url: str) -> tuple:
    """One process's share of the re-score: its own connection; tier changes counted, not sent."""
    db = open_database(url, pool_size=1)
    ctx = RiskContext(load_policies(), load_normalization(), lambda: TODAY)
    return db, ctx, lambda events: None, lambda: None


def load(db, n: int, rng: random.Random) -> dict:
    counts = {"members": 0, "claims": 0, "encounters": 0}
    chunk = 5000
    for start in range(0, n, chunk):
        members = [member(i, rng) for i in range(start, min(n, start + chunk))]
        claims, encs, segments = [], [], {}
        for m in members:
            c, e = facts(m, rng)
            claims += c
            encs += [(x, None) for x in e]
            if rng.random() < 1 / 8:
                segments[m.member_id] = Segment(rng.choice(("full", "partial")), rng.random() < 0.2, "0", True)
        with db.transaction() as s:
            repo = SqlRiskRepository(s)
            repo.put_members(members)
            repo.add_claims(claims)
            repo.put_encounters(encs)
            repo.put_segments(segments)
            from services.risk.adapters import tables as t

            gaps = [{"member_id": m.member_id, "gap_key": f"{m.member_id}|CMS130|2026", "status": "open",
                     "occurred_at": datetime(2026, 2, 1, tzinfo=UTC)} for m in members if rng.random() < 1 / 3]
            if gaps:
                s.execute(t.gaps.insert(), gaps)
        counts["members"] += len(members)
        counts["claims"] += len(claims)
        counts["encounters"] += len(encs)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--processes", type=int, default=2, help="as `python -m services.risk rescore --processes`")
    args = ap.parse_args()
    pg = postgres_url()
    dbname = f"bench_risk_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    db = open_database(make_url(pg).set(database=dbname).render_as_string(hide_password=False), pool_size=2)
    try:
        db.create_schema()
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        counts = load(db, args.members, rng)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        print(f"machine: {machine()}; PostgreSQL on loopback; load average {os.getloadavg()[0]:.2f}")
        print(f"setup (not timed): {counts['members']:,} members, {counts['claims']:,} claim versions, "
              f"{counts['encounters']:,} encounters in {time.perf_counter() - t0:.0f} s")
        ctx = RiskContext(load_policies(), load_normalization(), lambda: TODAY)
        load0 = os.getloadavg()[0]
        url = make_url(pg).set(database=dbname).render_as_string(hide_password=False)
        stats = parallel_full_rescore(db, partial(parts, url), args.processes, chunk=2000)
        load1 = os.getloadavg()[0]
        per_s = stats.members / stats.seconds
        print(f"full re-score: {stats.members:,} members in {stats.seconds:.1f} s ({per_s:,.0f} members/s), "
              f"{stats.changes:,} tier changes; load average {load0:.2f} before, {load1:.2f} after; "
              f"{stats.cpu_seconds:.1f} CPU-s in the scoring processes ({stats.members / stats.cpu_seconds:,.0f} "
              f"members per CPU-second, steadier than wall time on a shared machine)")
        report(f"risk: full CMS-HCC re-score through the use case, PostgreSQL, {args.processes} process(es) "
               f"({stats.members:,} members)",
               stats.seconds, "s", target=60, better="lower",
               note=f"{per_s:,.0f} members/s, {stats.changes:,} tier changes, load avg {load1:.2f}")
        # the pure assessment alone, per member (in memory)
        with db.transaction() as s:
            repo = SqlRiskRepository(s)
            ids = repo.member_ids(None, 2000)
            ms, cl, en = repo.members(ids), repo.claims(ids), repo.encounters(ids)
        policy = ctx.policy("MMO-2026")
        scorer = ctx.scorer(policy)
        t1 = time.perf_counter()
        for i in ids:
            assess(ms[i], segment=Segment(), claim_versions=cl.get(i, ()), encounters=en.get(i, ()), readmissions=(),
                   open_gaps=0, policy=policy, scorer=scorer, as_of=TODAY)
        per = (time.perf_counter() - t1) / len(ids) * 1e6
        report("risk: full re-score, members per CPU-second of the scoring processes (database excluded)",
               stats.members / stats.cpu_seconds, "members/CPU-s")
        report("risk: one member's assessment alone (pure: HCC score + utilization + tier)", per, "µs",
               better="lower")
    finally:
        db.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
