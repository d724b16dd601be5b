"""python -m carectl.synth --members N --seed S --out DIR [--start 2026-01-01 --months 12]"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date

from .config import MALFORMED_KINDS, SynthConfig
from .writer import generate


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m carectl.synth",
                                description="Generate a synthetic population: roster, ADT (HL7 v2), 837P/837I and CSV claims.")
    p.add_argument("--members", type=int, default=5000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="output directory (its adt/, claims/, rosters/ are replaced)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1), help="first day (YYYY-MM-DD)")
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--practices", type=int, default=20)
    p.add_argument("--hospitals", default="MERCY,STLUKE,GENERAL,VALLEY", help="assigning authorities, comma-separated")
    p.add_argument("--claim-batch", choices=("week", "month"), default="week")
    p.add_argument("--malformed-rate", type=float, default=0.005)
    p.add_argument("--malformed-kinds", default=",".join(MALFORMED_KINDS))
    p.add_argument("--unattributed-share", type=float, default=0.10)
    p.add_argument("--replacement-rate", type=float, default=0.02)
    p.add_argument("--void-rate", type=float, default=0.01)
    p.add_argument("--no-paid", action="store_true", help="837 without 2320/2430 paid amounts; CSV without allowed/paid")
    p.add_argument("--no-history", action="store_true", help="no prior-years claims batch")
    p.add_argument("--no-monthly-rosters", action="store_true")
    p.add_argument("--timezone", default="America/Chicago")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    try:
        cfg = SynthConfig(
            members=a.members, seed=a.seed, start=a.start, months=a.months, practices=a.practices,
            hospitals=tuple(h.strip().upper() for h in a.hospitals.split(",") if h.strip()),
            claim_batch=a.claim_batch, malformed_rate=a.malformed_rate,
            malformed_kinds=tuple(k for k in a.malformed_kinds.split(",") if k),
            unattributed_share=a.unattributed_share, replacement_rate=a.replacement_rate, void_rate=a.void_rate,
            include_paid=not a.no_paid, history=not a.no_history, monthly_rosters=not a.no_monthly_rosters,
            timezone=a.timezone)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def progress(stage: str, done: int, total: int) -> None:
        if not a.quiet:
            print(f"\r{stage:7} {done:>9,}/{total:,}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    m = generate(cfg, a.out, progress)
    c = m["counts"]
    print(json.dumps({"out": a.out, "seconds": round(time.perf_counter() - t0, 1), "members": c["members"],
                      "adt_messages": c["adt_messages"], "adt_malformed": c["adt_malformed"],
                      "claims": c["claims"], "claim_lines": c["claim_lines"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
