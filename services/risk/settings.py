"""Risk settings (environment variables are the field names in upper case)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from shared.settings import CommonSettings
from shared.web.sessions import session_key

from . import CONTRACTS_DIR

class RiskSettings(CommonSettings):
    SERVICE: ClassVar[str] = "risk"

    api_port: int = Field(default=8070, description="HTTP port of the API and the ops page")
    worker_port: int = Field(default=8071, description="the worker's /metrics and /healthz")
    contracts_dir: Path = Field(default=CONTRACTS_DIR, description="tier policies, one YAML per contract")
    hours_file: Path | None = Field(default=None, description="practices' opening hours (YAML); default: the "
                                                              "synthetic practices' data/practice_hours.yaml")
    default_model: Literal["V24", "V28"] = Field(default="V28", description="CMS-HCC model where a policy names none")
    timezone: str = Field(default="America/Chicago", description="IANA zone of 'today' for windows and effective dates")
    as_of: date | None = Field(default=None, description="score as of this day instead of today (tests, what-if)")
    worker_batch_size: int = Field(default=500, ge=1, le=5000)
    worker_within_s: float = Field(default=0.2, gt=0)
    rescore_check_s: float = Field(default=60.0, gt=0, description="how often the worker checks for a new day "
                                                                    "(then re-scores everyone: windows moved)")
    evidence_refresh_s: float = Field(default=60.0, gt=0, description="ED evidence gauges refresh interval")
    session_secret: SecretStr | None = Field(default=None, description="HMAC key of the ops page's session cookie")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 7)
    view_services: str = Field(default="service.outreach",
                               description="service accounts (user ids, comma-separated) that may read a member's "
                                           "risk view on behalf of a care-team user named in X-On-Behalf-Of")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return v

    def today(self) -> date:
        return self.as_of or datetime.now(ZoneInfo(self.timezone)).date()

    def view_service_ids(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.view_services.split(",") if u.strip())

    @cached_property
    def session_key(self) -> bytes:
        return session_key(self.session_secret, production=self.is_production())
