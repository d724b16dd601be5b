"""``python -m services.admissions {migrate | worker | api | mllp}``

- ``migrate``: the explicit schema step (create tables, the audit log's append-only guard);
  ``worker``, ``api`` and ``mllp`` also run the idempotent schema step at start;
- ``worker``: the faust worker (adt.events + members.roster → alerts, transitions, census);
- ``api``: census, alert inbox, encounters, SSE alert stream, HTTP ingest (``api_port``);
- ``mllp``: the MLLP listener (``mllp_port``) with /metrics and /healthz on ``mllp_metrics_port``;
- ``feeds-report [--json] [--facility F]``: the feed-quirks report from the database (per sending
  facility: accepted, refused, resent, warnings by field and kind, refusal reasons).
"""

from __future__ import annotations

from shared.runtime import run_api, run_worker, service_main

from .settings import AdmissionsSettings


def migrate(settings: AdmissionsSettings) -> None:
    from .agents import migrate as schema

    schema(settings).dispose()
    print("admissions: schema ready")


def worker(settings: AdmissionsSettings) -> None:
    from .agents import build_worker

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

    from shared.db import Database

    from . import quirks, store

    ap = argparse.ArgumentParser(prog="python -m services.admissions feeds-report")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--facility", help="one sending facility")
    args = ap.parse_args(sys.argv[2:])
    db = Database(settings.resolved_database_url(), store.metadata, pool_size=1)
    try:
        db.create_schema()
        with db.transaction() as session:
            rows = quirks.report(session, args.facility)
    finally:
        db.dispose()
    print(json.dumps(rows, default=str, indent=2) if args.json else quirks.format_report(rows))


def main() -> None:
    service_main(AdmissionsSettings, {"migrate": migrate, "worker": worker, "api": api, "mllp": mllp,
                                      "feeds-report": feeds_report})


if __name__ == "__main__":
    main()
