"""Process entry points shared by every service's ``__main__``.

    python -m services.<name> migrate     # the explicit schema step
    python -m services.<name> worker      # the faust worker
    python -m services.<name> api         # uvicorn serving the FastAPI app
    python -m services.<name> <other>     # e.g. admissions mllp

``service_main`` parses the command, builds the settings object once, configures logging and
calls the command's function with the settings.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TypeVar

from .logs import configure_logging
from .settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)
log = logging.getLogger(__name__)


def service_main(settings_cls: type[S], commands: dict[str, Callable[[S], None]], argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    service = settings_cls.SERVICE
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        names = " | ".join(commands)
        print(f"usage: python -m services.{service} {{{names}}}", file=sys.stderr)
        raise SystemExit(0 if argv and argv[0] in ("-h", "--help") else 2)
    command = argv[0]
    settings = settings_cls()
    configure_logging(service, command, settings.log_level, settings.log_format)
    commands[command](settings)


def run_worker(app, settings: CommonSettings) -> None:
    """Run a faust app as a worker in this process (blocks until stopped)."""
    from faust.worker import Worker

    worker = Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False,
                    override_logging=False)
    worker.execute_from_commandline()


def run_api(app, settings: CommonSettings, port: int) -> None:
    """Serve a FastAPI app with uvicorn (blocks until stopped)."""
    import uvicorn

    uvicorn.run(app, host=settings.http_host, port=port, log_level=settings.log_level.lower(),
                access_log=False, lifespan="on")
