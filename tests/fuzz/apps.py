"""Each service's FastAPI app (``create_api(settings)``), built in this process for the API
fuzzing (schemathesis, arbitrary JSON) and the access tests.

``build_app(service, ...)`` takes the database URL, the Kafka settings (bootstrap, topic prefix)
and a scratch directory. Dev credentials: ``deploy/users.dev.yaml``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from shared.settings import CommonSettings

SERVICES = ("admissions", "gaps", "outreach", "billing", "risk", "notifications", "intake")

ADMIN = {"Authorization": "Bearer dev-admin"}
NURSE = {"Authorization": "Bearer dev-nurse-east1"}
SUPERVISOR = {"Authorization": "Bearer dev-supervisor-east"}
OPS = {"X-API-Key": "dev-ops"}
HOSPITALIST = {"Authorization": "Bearer dev-hospitalist-hg-north"}
PRACTICE = {"Authorization": "Bearer dev-practice-p001"}

# Who calls each service's API in the fuzz runs (every generated case is sent once per identity). The
# member portal's callers are its seeded member, signed in through a test OpenID provider (member.py).
IDENTITIES: dict[str, tuple[dict[str, str], ...]] = {
    "admissions": (ADMIN, HOSPITALIST),
    "gaps": (ADMIN,),
    "outreach": (ADMIN, NURSE),
    "billing": (ADMIN, OPS),
    "risk": (ADMIN, NURSE, OPS),
    "notifications": (ADMIN, OPS, PRACTICE),
    "intake": (ADMIN,),
}

# Plausible values for path parameters (the fuzzers vary the rest).
PATH_VALUES = {"contract_id": "MMO-2026", "period": "2026-03", "task_id": "00000000-0000-4000-8000-000000000001",
               "member_id": "M000001", "facility": "MERCY", "alert_id": "A1", "queue": "nurse:pod-east",
               "load_id": "claims-20260101T000000-0000000000", "resource_type": "Encounter"}


def settings_for(service: str, *, database_url: str | None, kafka: CommonSettings | None, var_dir: Path,
                 **extra: Any) -> CommonSettings:
    common: dict[str, Any] = {"environment": "test", "database_url": database_url, "var_dir": var_dir}
    if kafka is not None:
        common.update(kafka_bootstrap=kafka.kafka_bootstrap, topic_prefix=kafka.topic_prefix)
    common.update(extra)
    if service == "admissions":
        from services.admissions.settings import AdmissionsSettings

        return AdmissionsSettings(**common)
    if service == "gaps":
        from services.gaps.settings import GapsSettings

        return GapsSettings(**common)
    if service == "outreach":
        from services.outreach.settings import OutreachSettings

        return OutreachSettings(**common)
    if service == "billing":
        from services.billing.settings import BillingSettings

        return BillingSettings(**common)
    if service == "risk":
        from services.risk.settings import RiskSettings

        return RiskSettings(**common)
    if service == "notifications":
        from services.notifications.settings import NotificationsSettings

        return NotificationsSettings(**common)
    if service == "portal":
        from services.portal.settings import PortalSettings

        return PortalSettings(**common)
    if service == "intake":
        from services.intake.settings import IntakeSettings

        return IntakeSettings(**common)
    raise ValueError(service)


class PublicResolver:
    """Notifications: every generated host name "resolves" to one public address, so subscriptions
    with any endpoint can be made without DNS lookups (no worker runs: nothing is ever sent)."""

    def resolve(self, host: str, port: int) -> list[str]:
        return ["93.184.215.14"]


def build_app(service: str, settings: CommonSettings) -> FastAPI:
    if service == "admissions":
        from services.admissions.api import create_api
    elif service == "gaps":
        from services.gaps.api import create_api
    elif service == "outreach":
        from services.outreach.api import create_api
    elif service == "billing":
        from services.billing.api import create_api
    elif service == "risk":
        from services.risk.api import create_api
    elif service == "notifications":
        from services.notifications.api import create_api as notifications_api

        return notifications_api(settings, resolver=PublicResolver())  # type: ignore[arg-type]
    elif service == "portal":
        from services.portal.api import create_api
    elif service == "intake":
        from services.intake.api import create_api
    else:
        raise ValueError(service)
    return create_api(settings)  # type: ignore[arg-type]


def fill_path(path: str) -> str:
    out = path
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        name = out[start + 1:end]
        out = out[:start] + PATH_VALUES.get(name, uuid.uuid4().hex[:8]) + out[end + 1:]
    return out
