#!/usr/bin/env python3
"""Run every benchmark from one entry point and print the figures table.

    ./ccp bench                 # every benchmark at its default size
    ./ccp bench --quick         # smaller sizes (minutes, not tens of minutes)
    ./ccp bench admissions gaps # a subset, by name

Each script prints RESULT lines (bench/common.py); the table (figure, target, result, machine)
is printed and written to bench/results/latest.md and latest.json — the README's performance
table is copied from there.

Every benchmark promises its headline figures (``HEADLINES``). A promised figure that no RESULT
line reported, a figure without a value, a script that failed: each is a MISSING row in the
table and a MISSING line at the end, and the exit status is 1 — a run that could not measure
something never looks complete.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone

from common import REPO, machine

BENCH = REPO / "bench"
# name -> (script, default args, quick args)
SUITE: dict[str, tuple[str, list[str], list[str]]] = {
    "kafka": ("kafka_ceiling.py", [], ["--records", "200000"]),
    "hl7": ("hl7_reader_micro.py", [], []),
    "admissions": ("admissions_mllp.py", [], ["--quick"]),
    "gaps": ("gaps_backfill.py", [], ["--quick"]),
    "measures": ("measures_micro.py", [], []),
    "x12": ("x12_parse_micro.py", [], []),
    "outreach": ("outreach_claim_next.py", [], ["--members", "1000", "--claims", "150"]),
    "billing-close": ("billing_close.py", [], ["--member-months", "200000"]),
    "billing-claims": ("billing_claims.py", [], ["--members", "2000", "--claims", "10000"]),
    "notifications": ("notifications_delivery.py", [], ["--quick"]),
    "risk": ("risk_scoring.py", [], ["--members", "20000"]),
    "scale": ("scale_workers.py", [], ["--quick"]),
}


# name -> the figures it must report (prefixes of the RESULT lines' "figure")
HEADLINES: dict[str, tuple[str, ...]] = {
    "kafka": ("Kafka producer ceiling",),
    "hl7": ("HL7 ",),
    "admissions": ("MLLP ingest throughput, 16 connections", "MLLP ingest throughput, 1 connection",
                   "MLLP ACK latency p99 at 200 msg/s", "Admit-to-alert p99"),
    "gaps": ("gaps: claims backfill", "gaps: full re-evaluation"),
    "measures": ("Measure engine alone",),
    "x12": ("X12 837P parse",),
    "outreach": ("Outreach worker draining", "Outreach gap event -> task", "Outreach claim-next"),
    "billing-close": ("Billing month close",),
    "billing-claims": ("Billing claims cost accrual",),
    "risk": ("risk: full CMS-HCC re-score", "risk: full re-score, estimated wall on a quiet"),
}


def missing_rows(name: str, results: list[dict], rc: int) -> list[dict]:
    """The MISSING rows of one benchmark: promised figures not reported, figures without a value."""
    out = []
    for prefix in HEADLINES.get(name, ()):
        if not any(r.get("figure", "").startswith(prefix) for r in results):
            out.append({"bench": name, "figure": f"MISSING: {prefix}… (not measured{'; exit ' + str(rc) if rc else ''})",
                        "value": None, "unit": "", "target": None, "ok": False, "rc": rc, "missing": True})
    for r in results:
        v = r.get("value")
        if v is None or (isinstance(v, float) and v != v):
            out.append({**r, "bench": name, "figure": f"MISSING: {r.get('figure')} (no value)", "ok": False,
                        "missing": True})
    return out


def run(name: str, quick: bool) -> tuple[list[dict], float, int]:
    script, args, quick_args = SUITE[name]
    path = BENCH / script
    if not path.exists():
        return [{"figure": f"{name}: {script} missing", "value": None, "unit": "", "target": None, "ok": None}], 0.0, 127
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(path), *(quick_args if quick else args)], cwd=BENCH,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = []
    assert proc.stdout
    for line in proc.stdout:
        if line.startswith("RESULT "):
            results.append(json.loads(line[7:]))
        else:
            sys.stdout.write(f"  [{name}] {line}")
    rc = proc.wait()
    return results, time.monotonic() - t0, rc


def fmt(v) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def delete_bench_topics(bootstrap: str, before: set[str]) -> int:
    """The scripts delete their own topics; this removes what a failed or interrupted one left:
    ``bench<hex>.`` topics that appeared during this run (``CCP_KEEP_TOPICS=1`` keeps them)."""
    import os
    import re

    from tests.support.infra import delete_topics_named, topic_names

    if os.environ.get("CCP_KEEP_TOPICS"):
        return 0
    left = sorted(t for t in topic_names(bootstrap) - before if re.match(r"bench[0-9a-f]{6,8}\.", t))
    return delete_topics_named(bootstrap, left)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", help=f"subset of: {', '.join(SUITE)}")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    names = args.names or list(SUITE)
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        sys.exit(f"unknown benchmark(s): {unknown}")
    host = machine()
    print(f"machine: {host}")
    sys.path.insert(0, str(REPO))
    from tests.support.infra import topic_names

    bootstrap = "127.0.0.1:9092"
    try:
        topics_before = topic_names(bootstrap)
    except Exception:  # noqa: BLE001 - broker not up yet: the first benchmark starts it
        topics_before = set()
    rows = []
    for name in names:
        print(f"== {name}")
        results, secs, rc = run(name, args.quick)
        for r in results:
            r["bench"], r["seconds"], r["rc"] = name, round(secs, 1), rc
            rows.append(r)
        if rc != 0 and not results:
            rows.append({"bench": name, "figure": f"{name} failed (exit {rc})", "value": None, "unit": "",
                         "target": None, "ok": False, "rc": rc})
        rows.extend(missing_rows(name, results, rc))
    try:
        print(f"deleted {delete_bench_topics(bootstrap, topics_before)} leftover benchmark topics")
    except Exception as exc:  # noqa: BLE001 - cleanup only
        print(f"benchmark topics not cleaned up: {exc}")
    lines = [f"Measured {datetime.now(timezone.utc):%Y-%m-%d} on {host}{' (quick sizes)' if args.quick else ''}.", "",
             "| figure | target | result | |", "|---|---|---|---|"]
    for r in rows:
        better = "≥" if r.get("better", "higher") == "higher" else "≤"
        target = f"{better} {fmt(r['target'])} {r['unit']}" if r.get("target") is not None else "—"
        mark = {True: "✅", False: "❌", None: ""}[r.get("ok")]
        note = f" ({r['note']})" if r.get("note") else ""
        lines.append(f"| {r['figure']}{note} | {target} | {fmt(r['value'])} {r['unit']} | {mark} |")
    table = "\n".join(lines)
    print()
    print(table)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(table + "\n")
    (out / "latest.json").write_text(json.dumps({"machine": host, "quick": args.quick, "rows": rows}, indent=2))
    print(f"\nwritten to {out / 'latest.md'}")
    gaps = [r for r in rows if r.get("missing") or (r.get("rc") and r.get("value") is None)]
    if gaps:
        print(f"\n{len(gaps)} figure(s) could not be measured:", file=sys.stderr)
        for r in gaps:
            print(f"  MISSING [{r['bench']}] {r['figure']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
