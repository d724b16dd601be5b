"""``python -m services.portal migrate | worker | api | dev-code MEMBER_ID ...``

- ``migrate``: the explicit schema step (idempotent; ``worker`` and ``api`` also run it).
- ``worker``: the faust worker keeping the members' projection (``WORKER_PORT``, 8081).
- ``api``: the member pages, the sign-in and the FHIR patient-access API (``API_PORT``, 8080).
- ``dev-code``: print development sign-in codes (refused in production).
"""

from __future__ import annotations

from shared.runtime import run_api, run_worker, service_main

from .cli import dev_code, migrate
from .settings import PortalSettings


def worker(settings: PortalSettings) -> None:
    from .worker import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: PortalSettings) -> None:
    from .api import create_api

    settings.check_for_serving()
    run_api(create_api(settings), settings, settings.api_port)


if __name__ == "__main__":
    service_main(PortalSettings, {"migrate": migrate, "worker": worker, "api": api, "dev-code": dev_code})
