"""``python -m services.admissions {migrate | worker | api | mllp}``

- ``migrate``: the explicit schema step (create tables, the audit log's append-only guard);
  ``worker``, ``api`` and ``mllp`` also run the idempotent schema step at start;
- ``worker``: the faust worker (adt.events + members.roster → alerts, transitions, census);
- ``api``: census, alert inbox, encounters, SSE alert stream, HTTP ingest (``api_port``);
- ``mllp``: the MLLP listener (``mllp_port``) with /metrics and /healthz on ``mllp_metrics_port``.
"""

from __future__ import annotations

from shared.runtime import run_api, run_worker, service_main

from .settings import AdmissionsSettings


def migrate(settings: AdmissionsSettings) -> None:
    from .agents import migrate as schema

    schema(settings).dispose()
    print("admissions: schema ready")


def worker(settings: AdmissionsSettings) -> None:
    from .agents import build_worker

    run_worker(build_worker(settings), settings)


def api(settings: AdmissionsSettings) -> None:
    from .api import create_api

    run_api(create_api(settings), settings, settings.api_port)


def mllp(settings: AdmissionsSettings) -> None:
    from .listener import run_mllp

    run_mllp(settings)


def main() -> None:
    service_main(AdmissionsSettings, {"migrate": migrate, "worker": worker, "api": api, "mllp": mllp})


if __name__ == "__main__":
    main()
