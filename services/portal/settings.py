"""Portal settings (environment variables are the field names in upper case).

Sign-in: in development and tests a member signs in with their member id and a development
code (``DEV_SIGNIN``, on unless production); in production only through OpenID Connect
(``OIDC_ISSUER``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET``, ``OIDC_REDIRECT_URI``), and
development codes are refused.
"""

from __future__ import annotations

from functools import cached_property
from ipaddress import ip_address
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from shared.settings import CommonSettings

from .domain.signin import DEV_SIGNIN_KEY


def _secure_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class PortalSettings(CommonSettings):
    SERVICE: ClassVar[str] = "portal"

    api_port: int = Field(default=8080, description="HTTP port of the member pages, the FHIR API and /docs")
    worker_port: int = Field(default=8081, description="the worker's /metrics and /healthz")
    timezone: str = Field(default="America/New_York", description="IANA zone for the member's dates")
    directory_file: Path | None = Field(
        default=None, description="YAML names of practices, clinicians and hospitals; default VAR_DIR/portal/directory.yaml")
    recent_days: int = Field(default=365, ge=1, description="hospital stays and ED visits shown")
    session_idle_minutes: float = Field(default=20.0, gt=0, le=24 * 60, description="a session ends after this idle time")
    session_max_hours: float = Field(default=8.0, gt=0, le=24 * 7, description="a session ends after this in any case")
    session_cookie_secure: bool | None = Field(
        default=None, description="mark cookies Secure (HTTPS only); default: true in production")
    dev_signin: bool | None = Field(
        default=None, description="allow development sign-in codes; default: on unless production (refused there)")
    dev_signin_secret: SecretStr | None = Field(
        default=None, description="key of the development codes; default: the public development key")
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer URL (discovery)")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_uri: str | None = Field(default=None, description="this portal's /signin/oidc/callback URL")
    oidc_scope: str = Field(default="openid profile", description="scopes asked for (openid is required)")
    oidc_member_claim: str = Field(default="member_id", description="ID-token claim that carries the member id")
    oidc_api_audience: str | None = Field(
        default=None, description="audience of access tokens accepted by the FHIR API; default: the client id")
    worker_batch_size: int = Field(default=500, ge=1, le=5000)
    worker_within_s: float = Field(default=0.05, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return v

    # ------------------------------------------------------------------ derived
    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret and self.oidc_redirect_uri)

    def dev_signin_allowed(self) -> bool:
        if self.is_production():
            return False
        return True if self.dev_signin is None else self.dev_signin

    def dev_key(self) -> bytes:
        return self.dev_signin_secret.get_secret_value().encode() if self.dev_signin_secret else DEV_SIGNIN_KEY

    def cookie_secure(self) -> bool:
        return self.is_production() if self.session_cookie_secure is None else self.session_cookie_secure

    def resolved_directory_file(self) -> Path:
        return self.directory_file or self.var_dir / "portal" / "directory.yaml"

    def api_audience(self) -> str | None:
        return self.oidc_api_audience or self.oidc_client_id

    def check_for_serving(self) -> None:
        """Refuse to serve members with development shortcuts in production (SystemExit with the reason)."""
        if not self.is_production():
            return
        if self.dev_signin:
            raise SystemExit("DEV_SIGNIN cannot be enabled in production: members sign in through OpenID Connect")
        if self.dev_signin_secret is not None:
            raise SystemExit("DEV_SIGNIN_SECRET is a development setting; remove it in production")
        if not self.oidc_configured():
            raise SystemExit("production needs OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_REDIRECT_URI")
        for name in ("oidc_issuer", "oidc_redirect_uri"):
            if not _secure_url(getattr(self, name)):
                raise SystemExit(f"{name.upper()} must be an https URL in production")
        if "openid" not in self.oidc_scope.split():
            raise SystemExit("OIDC_SCOPE must include openid")
        if self.session_cookie_secure is False:
            raise SystemExit("SESSION_COOKIE_SECURE cannot be false in production")
