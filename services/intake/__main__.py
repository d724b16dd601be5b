"""``python -m services.intake <command>``

    migrate                     the explicit schema step (create tables, audit append-only guard)
    api                         the HTTP API (uvicorn, API_PORT): the load routes
    load-roster FILE [--full]   roster CSV → members.roster (see ``services.intake.cli``)
    load-claims FILE [--format x12|csv|json] [--validate] [--force]
    seed [--json]               the upgrade step: intake's tables from members.roster and claims.events

Intake consumes no topic: it has no worker (``seed`` reads two topics once, when upgrading).
The API, the loads and the seed also run the idempotent schema step when they start.
"""

from __future__ import annotations

from shared.runtime import service_main

from .cli import COMMANDS
from .settings import IntakeSettings


def main() -> None:
    service_main(IntakeSettings, COMMANDS)


if __name__ == "__main__":
    main()
