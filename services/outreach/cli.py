"""The outreach commands (``python -m services.outreach <command>``):

- ``migrate``: the explicit schema step (the tables; on PostgreSQL the audit log's append-only
  trigger). Idempotent; ``worker`` and ``api`` also run it when they start.
- ``worker``: the faust worker (``worker.py``), ``/metrics`` and ``/healthz`` on ``WORKER_PORT`` (8031).
- ``api``: the JSON API and the nurse page (``api.py``) on ``API_PORT`` (8030).

Each imports its process's wiring only when run: ``api`` never loads faust.
"""

from __future__ import annotations

from shared.runtime import run_api, run_worker

from .settings import OutreachSettings


def migrate(settings: OutreachSettings) -> None:
    from .adapters.database import open_database

    open_database(settings.resolved_database_url(), pool_size=1).dispose()
    print("outreach: schema is up to date")


def worker(settings: OutreachSettings) -> None:
    from .worker import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: OutreachSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


COMMANDS = {"migrate": migrate, "worker": worker, "api": api}
