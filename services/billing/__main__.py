"""``python -m services.billing <command>`` (the commands are in ``cli.py``)."""

from __future__ import annotations

from shared.runtime import service_main

from .cli import COMMANDS
from .settings import BillingSettings


def main() -> None:
    service_main(BillingSettings, COMMANDS)


if __name__ == "__main__":
    main()
