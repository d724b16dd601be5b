"""Signed page sessions, CSRF tokens and the login form's double-submit token.

The session cookie never holds the API key: it holds ``<payload>.<mac>`` where the payload names
the user, a random session id and an expiry, and the MAC (HMAC-SHA256 with the page's
``SESSION_SECRET``) also covers the user's current key hashes: rotating or removing a user's keys
ends her sessions. Each page signs under its own ``purpose`` ("outreach", "risk", …), so a cookie
of one page is no session of another even where both run with the same secret.

CSRF: every form of a signed-in page carries a token derived from the session id (HMAC), checked
on each POST. The login form, which has no session yet, uses a double-submit token: a random
value in a short-lived cookie that the form must repeat (``form_nonce`` / ``nonce_ok``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from pydantic import SecretStr

from shared.users import User, UserDirectory

MIN_SECRET_LENGTH = 32
MAX_COOKIE = 1024


def session_key(secret: SecretStr | None, *, production: bool) -> bytes:
    """The session HMAC key from ``SESSION_SECRET``. Production refuses to run without a real
    one; development and tests get a random key per process (logins do not survive a restart)."""
    if secret is not None:
        value = secret.get_secret_value()
        if len(value) < MIN_SECRET_LENGTH:
            raise SystemExit(f"SESSION_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        return value.encode()
    if production:
        raise SystemExit("SESSION_SECRET must be set in production (refusing a default session key)")
    return secrets.token_bytes(32)


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
    def __init__(self, key: bytes, ttl_seconds: int, *, purpose: str) -> None:
        self._key = key
        self.ttl = ttl_seconds
        self.purpose = purpose

    def _mac(self, payload: str, user: User) -> str:
        keys = "|".join(sorted(user.api_keys_sha256))
        msg = f"{self.purpose}-session|{payload}|{keys}".encode()
        return _b64(hmac.new(self._key, msg, hashlib.sha256).digest())

    def issue(self, user: User, now: float | None = None) -> tuple[str, PageSession]:
        """(the cookie value, the session it stands for)."""
        expires = int((now or time.time()) + self.ttl)
        session = PageSession(user, secrets.token_urlsafe(18), expires)
        payload = _b64(json.dumps({"u": user.id, "s": session.session_id, "e": expires},
                                  separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload, user)}", session

    def verify(self, cookie: str | None, directory: UserDirectory, now: float | None = None) -> PageSession | None:
        """The session a cookie stands for, or None: malformed, forged, for a user gone or whose
        keys changed, or expired. (Revocation at logout is the page's store: ``PageKit.session``.)"""
        if not cookie or cookie.count(".") != 1 or len(cookie) > MAX_COOKIE:
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
        return _b64(hmac.new(self._key, f"{self.purpose}-csrf|{session_id}".encode(), hashlib.sha256).digest())

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session_id).encode(), (token or "").encode())


def form_nonce() -> str:
    """A fresh double-submit token: set it as a short-lived cookie and as a hidden form field."""
    return secrets.token_urlsafe(24)


def nonce_ok(cookie_value: str | None, form_value: str | None) -> bool:
    # as UTF-8 bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500), and
    # a form or a cookie may hold any
    return bool(cookie_value) and bool(form_value) and hmac.compare_digest((cookie_value or "").encode(),
                                                                          (form_value or "").encode())


__all__ = ["MIN_SECRET_LENGTH", "PageSession", "SessionSigner", "form_nonce", "nonce_ok", "session_key"]
