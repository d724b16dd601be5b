"""``python -m services.gaps <command>``

    migrate                     the explicit schema step (create tables, audit append-only guard)
    worker                      the faust worker (members.roster, claims.events, care.transitions)
    api                         the HTTP API (uvicorn, API_PORT)
    reevaluate [--all | --member ID ...]   (see ``services.gaps.cli``)

The worker, the API and the re-evaluation also run the idempotent schema step when they start.
Roster and claims files are loaded by intake (``python -m services.intake load-roster | load-claims``).
"""

from __future__ import annotations

from shared.runtime import run_api, run_worker, service_main

from .cli import reevaluate_command
from .settings import GapsSettings


def migrate(settings: GapsSettings) -> None:
    from .adapters.database import open_database

    db = open_database(settings)
    db.dispose()
    print(f"gaps schema ready ({db.engine.dialect.name})")


def worker(settings: GapsSettings) -> None:
    from .worker import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: GapsSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


def main() -> None:
    service_main(GapsSettings, {
        "migrate": migrate,
        "worker": worker,
        "api": api,
        "reevaluate": reevaluate_command,
    })


if __name__ == "__main__":
    main()
