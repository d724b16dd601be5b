"""Development sign-in codes and the sign-in attempt limit.

A development code is derived from the member id with a keyed hash (HMAC-SHA256 of the
development key), so the synthetic population and the portal agree on it without a table,
and knowing a member id alone does not give it. Eight characters of Crockford's base32
(40 bits), shown as ``ABCD-EF12``; typing is forgiving (case, spaces, dashes, O for 0, I/L
for 1). Production refuses development codes (OpenID Connect only).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

# The well-known development key: public on purpose, refused in production.
DEV_SIGNIN_KEY = b"ccp-development-portal-sign-in-codes"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


def dev_signin_code(member_id: str, key: bytes = DEV_SIGNIN_KEY) -> str:
    digest = hmac.new(key, f"portal-sign-in|{member_id}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:5], "big")
    chars = "".join(_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(8)))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_code(typed: str) -> str:
    cleaned = "".join(ch for ch in typed.upper() if ch.isascii() and ch.isalnum()).translate(_TYPO)
    return f"{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == 8 else cleaned


def code_matches(member_id: str, typed: str, key: bytes = DEV_SIGNIN_KEY) -> bool:
    typed_code = normalise_code((typed or "")[:64]).encode()
    return hmac.compare_digest(dev_signin_code(member_id, key).encode(), typed_code)


def normalise_member_id(typed: str) -> str:
    return (typed or "").strip().upper()


def locked_out(failures: Sequence[datetime], now: datetime, *, max_failures: int = MAX_FAILURES,
               window: timedelta = FAILURE_WINDOW) -> bool:
    """Too many failed attempts for this member id within the window: refuse until it passes."""
    return sum(1 for at in failures if now - at < window) >= max_failures
