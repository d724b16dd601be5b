"""Signed page sessions and CSRF tokens for the hospitalist page.

The ``ccp_hsession`` cookie holds ``<payload>.<mac>``: the user id, a random session id and an
expiry, MACed (HMAC-SHA256, ``SESSION_SECRET``) together with the user's current key hashes, so
rotating a user's keys ends her sessions; the API key itself is never stored. Forms carry a CSRF
token derived from the session id; the login form a double-submit token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import User, UserDirectory

COOKIE = "ccp_hsession"
LOGIN_COOKIE = "ccp_hlogin"
MIN_SECRET = 32


class PageSettings(BaseSettings):
    """``SESSION_SECRET`` (required in production), ``SESSION_HOURS``."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)
    session_secret: SecretStr | None = None
    session_hours: float = Field(default=12.0, gt=0, le=24 * 7)


def session_key(page: PageSettings, production: bool) -> bytes:
    if page.session_secret is not None:
        value = page.session_secret.get_secret_value()
        if len(value) < MIN_SECRET:
            raise SystemExit(f"SESSION_SECRET must be at least {MIN_SECRET} characters")
        return value.encode()
    if production:
        raise SystemExit("SESSION_SECRET must be set in production (refusing a default session key)")
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    user: User
    session_id: str
    expires_at: int


class Signer:
    def __init__(self, key: bytes, ttl_s: int) -> None:
        self.key = key
        self.ttl = ttl_s

    def _mac(self, payload: str, user: User) -> str:
        msg = f"hospitalist|{payload}|{'|'.join(sorted(user.api_keys_sha256))}".encode()
        return _b64(hmac.new(self.key, msg, hashlib.sha256).digest())

    def issue(self, user: User) -> str:
        payload = _b64(json.dumps({"u": user.id, "s": secrets.token_urlsafe(18), "e": int(time.time() + self.ttl)},
                                  separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload, user)}"

    def verify(self, cookie: str | None, directory: UserDirectory) -> Session | None:
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            return None
        payload, mac = cookie.split(".")
        try:
            data = json.loads(_unb64(payload))
            user_id, sid, expires = str(data["u"]), str(data["s"]), int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        user = directory.get(user_id)
        if user is None or not hmac.compare_digest(mac, self._mac(payload, user)) or expires < time.time():
            return None
        return Session(user, sid, expires)

    def csrf(self, session_id: str) -> str:
        return _b64(hmac.new(self.key, f"csrf|{session_id}".encode(), hashlib.sha256).digest())

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(session_id), token or "")
