"""Use cases of the member's sign-in: codes (development), OpenID Connect (production), sessions.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, the
member, how they signed in, a CSRF token, and when it was last used. It ends after
``idle`` without use, after ``lifetime`` in any case, and at sign-out. Failed code sign-ins
are counted per member id: after five within 15 minutes that id is locked for the rest of
the window (whatever the code), so codes cannot be guessed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.access import Principal
from ..domain.errors import SignInRefused
from ..domain.signin import FAILURE_WINDOW, code_matches, locked_out, normalise_member_id
from .ports import PendingLogin, SessionRecord, UnitOfWork
from .reads import MEMBER_ROLE

NO_MATCH = "That member ID and sign-in code do not match. Check both and try again."
LOCKED = "Too many tries. For your safety, sign-in with this member ID is paused for 15 minutes."
DEV_OFF = "Sign-in with a code is not available here. Use your account."
NOT_A_MEMBER = "We could not find your membership. Please call the number on your member card."


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=20)
    lifetime: timedelta = timedelta(hours=8)


@dataclass(frozen=True)
class Started:
    token: str                 # goes into the cookie; never stored
    principal: Principal
    csrf_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _start(uow: UnitOfWork, member_id: str, via: str, now: datetime, policy: SessionPolicy, endpoint: str) -> Started:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    h = token_hash(token)
    expires = now + policy.lifetime
    uow.sessions.add(SessionRecord(h, member_id, via, csrf, now, now, expires))
    principal = Principal(member_id, via, h[:12])  # type: ignore[arg-type]
    uow.audit.record(user_id=principal.audit_user, role=MEMBER_ROLE, member_id=member_id, action="signin",
                     endpoint=endpoint, detail=f"signed in via={via} session={principal.session_ref}")
    return Started(token, principal, csrf, expires)


def sign_in_with_code(uow: UnitOfWork, *, member_id: str | None, code: str | None, now: datetime,
                      allowed: bool, key: bytes, policy: SessionPolicy, endpoint: str) -> Started:
    if not allowed:
        raise SignInRefused(DEV_OFF)
    mid = normalise_member_id(member_id or "")[:64]
    with uow:
        if locked_out(uow.attempts.failures_since(mid, now - FAILURE_WINDOW), now):
            raise SignInRefused(LOCKED, locked=True)
        member = uow.members.get(mid) if mid else None
        if member is None or not code_matches(mid, code or "", key):
            uow.attempts.record_failure(mid or "-", now)
            uow.commit()
            raise SignInRefused(NO_MATCH)
        uow.attempts.clear(mid)
        started = _start(uow, mid, "dev_code", now, policy, endpoint)
        uow.commit()
    return started


def sign_in_with_claims(uow: UnitOfWork, *, claims: Mapping[str, object], member_claim: str, now: datetime,
                        policy: SessionPolicy, endpoint: str) -> Started:
    """The identity provider vouched for these (validated) ID-token claims; the member id is in
    ``member_claim``. A member the roster does not know is refused."""
    value = claims.get(member_claim)
    mid = normalise_member_id(value if isinstance(value, str) else "")
    with uow:
        if not mid or uow.members.get(mid) is None:
            raise SignInRefused(NOT_A_MEMBER)
        started = _start(uow, mid, "oidc", now, policy, endpoint)
        uow.commit()
    return started


def resume(uow: UnitOfWork, token: str | None, now: datetime, policy: SessionPolicy) -> tuple[Principal, str] | None:
    """The session behind a cookie, or None when unknown, revoked, idle too long or expired.
    A session in use is kept alive (its last use recorded, at most once a minute)."""
    if not token or len(token) > 128:
        return None
    h = token_hash(token)
    with uow:
        rec = uow.sessions.get(h)
        if rec is None or rec.revoked or now >= rec.expires_at or now - rec.last_seen_at >= policy.idle:
            return None
        if now - rec.last_seen_at >= timedelta(minutes=1):
            uow.sessions.touch(h, now)
            uow.commit()
    return Principal(rec.member_id, rec.via, h[:12]), rec.csrf_token  # type: ignore[arg-type]


def sign_out(uow: UnitOfWork, token: str | None, now: datetime, endpoint: str) -> None:
    if not token:
        return
    h = token_hash(token)
    with uow:
        rec = uow.sessions.get(h)
        if rec is None or rec.revoked:
            return
        uow.sessions.revoke(h, now)
        uow.audit.record(user_id=f"member:{rec.member_id}"[:64], role=MEMBER_ROLE, member_id=rec.member_id,
                         action="signout", endpoint=endpoint, detail=f"session={h[:12]}")
        uow.commit()


def remember_login(uow: UnitOfWork, state: str, nonce: str, code_verifier: str | None, now: datetime) -> None:
    with uow:
        uow.pending_logins.add(PendingLogin(token_hash(state), nonce, code_verifier, now))
        uow.commit()


def take_login(uow: UnitOfWork, state: str | None, now: datetime, max_age: timedelta = timedelta(minutes=10)
               ) -> PendingLogin | None:
    if not state:
        return None
    with uow:
        pending = uow.pending_logins.take(token_hash(state))
        uow.commit()
    if pending is None or now - pending.created_at > max_age:
        return None
    return pending
