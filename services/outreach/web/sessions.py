"""Signed page sessions and CSRF tokens for the nurse page.

The ``ccp_session`` cookie never holds the API key: it holds ``<payload>.<mac>`` where the
payload names the user, a random session id and an expiry, and the MAC (HMAC-SHA256 with the
``SESSION_SECRET``) also covers the user's current key hashes — rotating or removing a user's
keys ends her sessions. Logging out revokes the session id (``revoked_sessions``).

CSRF: every form carries a token derived from the session id (HMAC), checked on each POST.
The login form, which has no session yet, uses a double-submit token: a random value in a
short-lived cookie that the form must repeat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from shared.auth import User, UserDirectory

SESSION_COOKIE = "ccp_session"

LOGIN_COOKIE = "ccp_login"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PageSession:
    user: User
    session_id: str
    expires_at: int


class SessionSigner:
    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        self._key = key
        self.ttl = ttl_seconds

    def _mac(self, payload: str, user: User) -> str:
        keys = "|".join(sorted(user.api_keys_sha256))
        msg = f"session|{payload}|{keys}".encode()
        return _b64(hmac.new(self._key, msg, hashlib.sha256).digest())

    def issue(self, user: User, now: float | None = None) -> tuple[str, PageSession]:
        expires = int((now or time.time()) + self.ttl)
        session = PageSession(user, secrets.token_urlsafe(18), expires)
        payload = _b64(json.dumps({"u": user.id, "s": session.session_id, "e": expires},
                                  separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload, user)}", session

    def verify(self, cookie: str | None, directory: UserDirectory, now: float | None = None) -> PageSession | None:
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            return None
        payload, mac = cookie.split(".")
        try:
            data = json.loads(_unb64(payload))
            user_id, session_id, expires = str(data["u"]), str(data["s"]), int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        user = directory.get(user_id)
        if user is None or not hmac.compare_digest(mac, self._mac(payload, user)):
            return None
        if expires < (now or time.time()):
            return None
        return PageSession(user, session_id, expires)

    # ------------------------------------------------------------------ CSRF
    def csrf_token(self, session_id: str) -> str:
        return _b64(hmac.new(self._key, f"csrf|{session_id}".encode(), hashlib.sha256).digest())

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session_id), token or "")

    @staticmethod
    def login_nonce() -> str:
        return secrets.token_urlsafe(24)

    @staticmethod
    def login_ok(cookie_value: str | None, form_value: str | None) -> bool:
        return bool(cookie_value) and bool(form_value) and hmac.compare_digest(cookie_value or "", form_value or "")


__all__ = ["LOGIN_COOKIE", "PageSession", "SESSION_COOKIE", "SessionSigner"]
