"""``python -m services.intake <command>``

    migrate                     the explicit schema step (create tables, audit append-only guard)
    api                         the HTTP API (uvicorn, API_PORT): the load routes
    load-roster FILE [--full]   roster CSV → members.roster (see ``services.intake.cli``)
    load-claims FILE [--format x12|csv|json] [--validate] [--force]

Intake consumes no topic: it has no worker. The API and the loads also run the idempotent
schema step when they start.
"""

from __future__ import annotations

from shared.runtime import service_main

from .cli import COMMANDS
from .settings import IntakeSettings


def main() -> None:
    service_main(IntakeSettings, COMMANDS)


if __name__ == "__main__":
    main()
