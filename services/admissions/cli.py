"""The admissions commands (``python -m services.admissions <command>``):

- ``migrate``: the explicit schema step (the tables, the audit log's append-only guard on
  PostgreSQL, columns widened since); ``worker``, ``api`` and ``mllp`` also run it at start;
- ``worker``: the faust worker (adt.events + members.roster → alerts, transitions, census);
- ``api``: census, alert inbox, encounters, SSE alert stream, HTTP ingest (``api_port``);
- ``mllp``: the MLLP listener (``mllp_port``) with /metrics and /healthz on ``mllp_metrics_port``;
- ``feeds-report [--json] [--facility F]``: the feed-quirks report from the database (per sending
  facility: accepted, refused, resent, warnings by field and kind, refusal reasons).

Each imports its process's wiring only when run: ``api`` and ``mllp`` never load faust.
"""

from __future__ import annotations

from typing import Any

from shared.runtime import run_api, run_worker

from .settings import AdmissionsSettings


def migrate(settings: AdmissionsSettings) -> None:
    from .adapters.database import open_database

    open_database(settings.resolved_database_url(), pool_size=1).dispose()
    print("admissions: schema ready")


def worker(settings: AdmissionsSettings) -> None:
    from .worker import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: AdmissionsSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


def mllp(settings: AdmissionsSettings) -> None:
    from .listener import run_mllp

    run_mllp(settings)


def feeds_report(settings: AdmissionsSettings) -> None:
    import argparse
    import json
    import sys

    from .adapters.database import open_database
    from .adapters.unit_of_work import SqlUnitOfWork

    ap = argparse.ArgumentParser(prog="python -m services.admissions feeds-report")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--facility", help="one sending facility")
    args = ap.parse_args(sys.argv[2:])
    db = open_database(settings.resolved_database_url(), pool_size=1)
    try:
        with SqlUnitOfWork(db) as uow:
            rows = uow.feeds.report(args.facility)
    finally:
        db.dispose()
    print(json.dumps(rows, default=str, indent=2) if args.json else format_report(rows))


def format_report(rows: list[dict[str, Any]]) -> str:
    """The report as text, one block per sending facility (``./ccp feeds report``)."""
    if not rows:
        return "no messages counted yet"
    lines = []
    for f in rows:
        total = f["accepted"] + f["refused"]
        share = f" ({f['refused'] / total:.0%} refused)" if total else ""
        seen = f"{f['first_seen']:%Y-%m-%d %H:%M} .. {f['last_seen']:%Y-%m-%d %H:%M} UTC" if f["first_seen"] else ""
        lines.append(f"{f['facility']}: {f['accepted']} accepted, {f['refused']} refused{share}, "
                     f"{f['duplicates']} resent   {seen}")
        for w in f["warnings"]:
            lines.append(f"    warning  {w['field']:<8} {w['kind']:<13} {w['count']:>7}  {w['text'] or ''}")
        for r in f["refusals"]:
            lines.append(f"    refused  {r['where']:<8} {r['code']:<13} {r['count']:>7}  {r['text'] or ''}")
    return "\n".join(lines)


COMMANDS = {"migrate": migrate, "worker": worker, "api": api, "mllp": mllp, "feeds-report": feeds_report}
