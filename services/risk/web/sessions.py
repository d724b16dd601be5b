"""Signed page sessions for the ops page: the cookie names the user, a random id and an expiry,
with an HMAC (``SESSION_SECRET``) that also covers the user's key hashes (rotating a key ends
her sessions). The login form uses a double-submit token; the logout form a session-bound one.
(The nurse page's signer does the same in outreach; services do not import each other.)"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from shared.auth import User, UserDirectory

SESSION_COOKIE = "ccp_risk_session"
LOGIN_COOKIE = "ccp_risk_login"


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
        self._key, self.ttl = key, ttl_seconds

    def _mac(self, payload: str, user: User) -> str:
        msg = f"risk-session|{payload}|{'|'.join(sorted(user.api_keys_sha256))}".encode()
        return _b64(hmac.new(self._key, msg, hashlib.sha256).digest())

    def issue(self, user: User) -> str:
        payload = _b64(json.dumps({"u": user.id, "s": secrets.token_urlsafe(18), "e": int(time.time() + self.ttl)},
                                  separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload, user)}"

    def verify(self, cookie: str | None, directory: UserDirectory) -> PageSession | None:
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            return None
        payload, mac = cookie.split(".")
        try:
            data = json.loads(_unb64(payload))
            user_id, session_id, expires = str(data["u"]), str(data["s"]), int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        user = directory.get(user_id)
        if user is None or not hmac.compare_digest(mac, self._mac(payload, user)) or expires < time.time():
            return None
        return PageSession(user, session_id, expires)

    def csrf_token(self, session_id: str) -> str:
        return _b64(hmac.new(self._key, f"risk-csrf|{session_id}".encode(), hashlib.sha256).digest())

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session_id), token or "")

    @staticmethod
    def nonce() -> str:
        return secrets.token_urlsafe(24)
