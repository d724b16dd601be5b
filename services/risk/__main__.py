"""``python -m services.risk migrate | worker | api | rescore | segments | evidence``

- ``migrate``: the explicit schema step (worker and api also run it when they start).
- ``worker``: the faust worker (``/metrics``, ``/healthz`` on ``WORKER_PORT``, 8071).
- ``api``: the JSON API, the member risk view and the ops page on ``API_PORT`` (8070).
- ``rescore``, ``segments load FILE``, ``evidence [--csv]``: see ``cli.py``.
"""

from __future__ import annotations

import sys

from shared.runtime import run_api, run_worker, service_main

from .settings import RiskSettings


def migrate(settings: RiskSettings) -> None:
    from .adapters.wiring import database

    database(settings, pool_size=1).dispose()
    print("risk: schema is up to date")


def worker(settings: RiskSettings) -> None:
    from .worker import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: RiskSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


def cli(settings: RiskSettings) -> None:
    from .cli import main

    raise SystemExit(main(settings, sys.argv[1:]))


if __name__ == "__main__":
    service_main(RiskSettings, {"migrate": migrate, "worker": worker, "api": api,
                                "rescore": cli, "segments": cli, "evidence": cli})
