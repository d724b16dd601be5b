"""Billing's settings (environment names = field names in upper case, e.g. ``API_PORT``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from shared.settings import CommonSettings

from .contracts import CONTRACTS_DIR


class BillingSettings(CommonSettings):
    SERVICE: ClassVar[str] = "billing"

    api_port: int = Field(default=8040, description="HTTP API")
    worker_port: int = Field(default=8041, description="worker's /metrics and /healthz")
    contracts_dir: Path = Field(
        default=CONTRACTS_DIR,
        description="contract files (*.yaml) loaded at migrate/start when no contract is loaded yet",
    )
    open_month_policy: Literal["calendar", "fixed"] = Field(
        default="calendar",
        description="calendar: the open (accrual) month follows the UTC calendar and opens as it turns; "
                    "fixed: the open month is OPEN_MONTH (tests, back-office replays)",
    )
    open_month: str | None = Field(
        default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="YYYY-MM: the open month under the fixed policy (and the first one under calendar "
                    "when the ledger is empty)",
    )
    estimate_interval_s: float = Field(
        default=1.0, ge=0,
        description="bonus / shared-savings estimates of changed contracts are recomputed at most this "
                    "often (0: after every batch); a timer settles what is left",
    )
    batch_size: int = Field(default=1000, ge=1, description="events per worker batch")
    batch_within_s: float = Field(default=0.05, gt=0, description="seconds a batch's first event may wait for the batch to fill")
    rebuild_schema: str = Field(default="billing_rebuild", pattern=r"^[a-z_][a-z0-9_]*$",
                                description="PostgreSQL scratch schema the rebuild replays into")
