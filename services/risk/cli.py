"""Operator commands: ``rescore`` (everyone, now), ``segments load FILE`` (dual/institutional
status), ``evidence [--csv] [--from YYYY-MM-DD] [--to YYYY-MM-DD]`` (the ED evidence table)."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import date

from .settings import RiskSettings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.risk")
    sub = p.add_subparsers(dest="command", required=True)
    rs = sub.add_parser("rescore", help="re-score every member now and publish the tier changes")
    rs.add_argument("--processes", type=int, default=2, help="processes sharing the work (default 2)")
    seg = sub.add_parser("segments", help="CMS-HCC segment inputs per member")
    seg.add_argument("action", choices=["load"])
    seg.add_argument("file", help="CSV with member_id, dual_status (none|full|partial), institutional, orec")
    ev = sub.add_parser("evidence", help="ED visits by practice and month against opening hours")
    ev.add_argument("--csv", action="store_true")
    ev.add_argument("--from", dest="start", type=date.fromisoformat)
    ev.add_argument("--to", dest="end", type=date.fromisoformat)
    return p


def main(settings: RiskSettings, argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from .adapters.wiring import database

    db = database(settings, pool_size=1)
    try:
        if args.command == "rescore":
            from functools import partial

            from .adapters.parallel import parallel_full_rescore
            from .adapters.wiring import rescore_parts

            stats = parallel_full_rescore(db, partial(rescore_parts, settings), max(1, args.processes))
            print(f"re-scored {stats.members} members in {stats.seconds:.1f} s; {stats.changes} tier changes published")
            return 0
        if args.command == "segments":
            return _load_segments(db, args.file)
        return _evidence(db, settings, args)
    finally:
        db.dispose()


def _load_segments(db, path: str) -> int:
    from .adapters.repository import SqlRiskRepository
    from .domain.segments import SEGMENT_CSV_HEADER, parse_segment_row

    segments, rejected = {}, []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("member_id",) if c not in (reader.fieldnames or ())]
        if missing:
            print(f"{path}: the header must name {', '.join(SEGMENT_CSV_HEADER)}", file=sys.stderr)
            return 2
        for line, row in enumerate(reader, start=2):
            try:
                mid, seg = parse_segment_row(row)
                segments[mid] = seg
            except ValueError as exc:
                rejected.append(f"{path}:{line}: {exc}")
    with db.transaction() as session:
        SqlRiskRepository(session).put_segments(segments)
    for r in rejected:
        print(r, file=sys.stderr)
    print(f"{len(segments)} segments loaded, {len(rejected)} rejected; run `rescore` to apply them now")
    return 0 if not rejected else 1


def _evidence(db, settings: RiskSettings, args) -> int:
    from .adapters.reference import load_avoidable_list, load_practice_hours
    from .adapters.repository import SqlRiskRepository
    from .app.ed_report import ed_evidence
    from .web.evidence_csv import evidence_csv

    with db.transaction() as session:
        report = ed_evidence(SqlRiskRepository(session), load_practice_hours(settings.hours_file),
                             load_avoidable_list(), start=args.start, end=args.end)
    if args.csv:
        sys.stdout.write(evidence_csv(report.rows))
        return 0
    out = io.StringIO()
    for r in report.rows:
        d = r.to_dict()
        out.write(f"{d['practice_id']:<8} {d['month']} {d['period']:<10} visits {d['visits']:>4}  closed "
                  f"{d['closed_hours']:>3} open {d['open_hours']:>3} unknown {d['unknown_hours']:>3}  avoidable "
                  f"{d['avoidable']:>3}\n")
    sys.stdout.write(out.getvalue())
    return 0
