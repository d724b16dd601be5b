"""``python -m services.outreach migrate | worker | api``

- ``migrate``: the explicit schema step (create the tables; on PostgreSQL the audit log's
  append-only trigger). Idempotent; ``worker`` and ``api`` also run it when they start.
- ``worker``: the faust worker (gaps.events, care.transitions, members.roster, claims.events →
  tasks and outreach.tasks), ``/metrics`` and ``/healthz`` on ``WORKER_PORT`` (8031).
- ``api``: the JSON API and the nurse page on ``API_PORT`` (8030).
"""

from __future__ import annotations

from shared.runtime import run_api, run_worker, service_main

from .settings import OutreachSettings


def migrate(settings: OutreachSettings) -> None:
    from . import store

    db = store.open_database(settings.resolved_database_url(), pool_size=1)
    store.create_schema(db)
    db.dispose()
    print("outreach: schema is up to date")


def worker(settings: OutreachSettings) -> None:
    from .agents import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: OutreachSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


if __name__ == "__main__":
    service_main(OutreachSettings, {"migrate": migrate, "worker": worker, "api": api})
