"""Outreach settings (environment variables are the field names in upper case).

Staff (who works which queue, pods, capacity) come from the users file of ``shared.auth``
(``USERS_FILE``; the development users when unset). Holidays come from ``HOLIDAYS_FILE``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from shared.calendar import BusinessCalendar
from shared.settings import CommonSettings
from shared.users import DEV_USERS_FILE, UserDirectory
from shared.web.sessions import session_key

from . import DEFAULT_RULES_PATH
from .domain import DecisionContext, RulesConfig, parse_rules

DEV_RISK_API_KEY = "dev-service-outreach"  # deploy/users.dev.yaml's service.outreach


class OutreachSettings(CommonSettings):
    SERVICE: ClassVar[str] = "outreach"

    api_port: int = Field(default=8030, description="HTTP port of the API and the nurse page")
    worker_port: int = Field(default=8031, description="the worker's /metrics and /healthz")
    rules_file: Path = Field(default=DEFAULT_RULES_PATH, description="task rules (YAML, see rules.yaml)")
    timezone: str | None = Field(
        default=None, description="IANA zone for business days and 'today'; default: the rules file's workflow.timezone")
    session_secret: SecretStr | None = Field(
        default=None, description="HMAC key of the nurse page's session cookie (required in production)")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 7, description="how long a page login lasts")
    session_cookie_secure: bool | None = Field(
        default=None, description="mark the session cookie Secure (HTTPS only); default: true in production")
    worker_batch_size: int = Field(default=500, ge=1, le=5000)
    worker_within_s: float = Field(default=0.05, gt=0, description="seconds a batch's first event may wait for the batch to fill")
    maintenance_interval_s: float = Field(
        default=30.0, gt=0, description="gauge refresh and the check for the daily sweep/rescore")
    recent_encounter_days: int = Field(default=90, ge=1, description="encounters shown on the task detail")
    risk_api_url: str | None = Field(
        default=None, description="the risk API (e.g. http://127.0.0.1:8070) whose member risk view the task page "
                                  "shows; unset: the page shows the tier on file only")
    risk_api_key: SecretStr | None = Field(
        default=None, description="outreach's API key at the risk API (a user named in the risk API's VIEW_SERVICES); "
                                  "development and tests: dev-service-outreach; required in production")
    risk_view_timeout_s: float = Field(default=1.5, gt=0, le=30, description="how long the page waits for the risk API")
    risk_view_fresh_s: float = Field(default=60.0, ge=0, description="a member's risk view is asked again after this")
    risk_view_stale_s: float = Field(
        default=900.0, ge=0, description="while the risk API does not answer, its last answer is shown up to this old")
    risk_view_retry_s: float = Field(
        default=15.0, ge=0, description="after the risk API failed, pages do not wait on it again for this long")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return v

    # ------------------------------------------------------------------ derived
    def load_rules(self) -> RulesConfig:
        rules = parse_rules(Path(self.rules_file).read_text())
        if self.timezone and self.timezone != rules.workflow.timezone:
            workflow = rules.workflow.model_copy(update={"timezone": self.timezone})
            rules = rules.model_copy(update={"workflow": workflow})
        return rules

    def load_calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_file(self.holidays_file)

    def decision_context(self) -> DecisionContext:
        return DecisionContext(self.load_rules(), self.load_calendar())

    @cached_property
    def session_key(self) -> bytes:
        """The session HMAC key. Production refuses to run without a real one; development and
        tests get a random key per process (logins do not survive a restart)."""
        return session_key(self.session_secret, production=self.is_production())

    def risk_api_credential(self) -> str:
        """Outreach's key at the risk API. Production refuses to run without one, or with a
        development key; development and tests use the development account's."""
        if self.risk_api_key is not None:
            key = self.risk_api_key.get_secret_value()
            if self.is_production() and UserDirectory.load(DEV_USERS_FILE).authenticate(key) is not None:
                raise SystemExit("RISK_API_KEY is a development key; refusing it in production")
            return key
        if self.is_production():
            raise SystemExit("RISK_API_KEY must be set in production when RISK_API_URL is")
        return DEV_RISK_API_KEY

    def cookie_secure(self) -> bool:
        return self.is_production() if self.session_cookie_secure is None else self.session_cookie_secure
