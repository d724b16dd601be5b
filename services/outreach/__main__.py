"""``python -m services.outreach migrate | worker | api`` (the commands are in ``cli.py``)."""

from __future__ import annotations

from shared.runtime import service_main

from .cli import COMMANDS
from .settings import OutreachSettings

if __name__ == "__main__":
    service_main(OutreachSettings, COMMANDS)
