"""``python -m services.admissions migrate | worker | api | mllp | feeds-report`` (the commands
are in ``cli.py``)."""

from __future__ import annotations

from shared.runtime import service_main

from .cli import COMMANDS
from .settings import AdmissionsSettings

if __name__ == "__main__":
    service_main(AdmissionsSettings, COMMANDS)
