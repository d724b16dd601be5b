"""``ccp feeds``: what each sending hospital's HL7 feed does oddly.

    ./ccp feeds report [--json] [--facility F]

Per sending facility: messages accepted, refused and resent, the warnings by field and kind
(an odd optional field never refuses a message) and the refusal reasons — read from the
admissions database (``DATABASE_URL`` or ``ADMISSIONS_DATABASE_URL``; the SQLite file under
``var/`` by default, as ``./ccp up`` runs it). The same report is ``GET /feeds/quirks`` on the
admissions API (admins and ops).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

REPO = Path(__file__).resolve().parent.parent
feeds_app = typer.Typer(help="HL7 feeds: what each sending facility does oddly.", no_args_is_help=True)


@feeds_app.command("report")
def report(
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    facility: Annotated[Optional[str], typer.Option(help="one sending facility")] = None,
) -> None:
    """Per sending facility: accepted, refused, resent; warnings by field and kind; refusal reasons."""
    from .processes import service_database_url

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    url = service_database_url(env, "admissions")
    if url:
        env["DATABASE_URL"] = url
    args = [sys.executable, "-m", "services.admissions", "feeds-report"]
    args += ["--json"] if json_out else []
    args += ["--facility", facility] if facility else []
    raise typer.Exit(subprocess.call(args, env=env, cwd=REPO))
