"""``python -m services.notifications {migrate | worker | api}``

- ``migrate``: the explicit schema step (``worker`` and ``api`` also run it at start);
- ``worker``: the faust consumer of the routed topics + the dispatcher, /metrics and /healthz on
  ``WORKER_PORT`` (8061);
- ``api``: subscriptions, the delivery log and the FHIR endpoint ``/fhir`` on ``API_PORT`` (8060).
"""

from __future__ import annotations

from shared.runtime import run_api, run_worker, service_main

from .settings import NotificationsSettings


def migrate(settings: NotificationsSettings) -> None:
    from .adapters.database import migrate as schema

    schema(settings.resolved_database_url()).dispose()
    print("notifications: schema is up to date")


def worker(settings: NotificationsSettings) -> None:
    from .worker import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: NotificationsSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


def main() -> None:
    service_main(NotificationsSettings, {"migrate": migrate, "worker": worker, "api": api})


if __name__ == "__main__":
    main()
