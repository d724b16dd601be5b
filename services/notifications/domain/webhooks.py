"""Standard Webhooks (standardwebhooks.com): secrets, signatures, headers, the JSON body.

- ``webhook-id``: the notification id, the same on every retry (the receiver's idempotency key);
- ``webhook-timestamp``: integer Unix seconds of *this* attempt;
- ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` over
  ``{id}.{timestamp}.{body}`` (the exact bytes sent), one per secret in force: during a
  rotation the old and the new secret both sign, and the receiver accepts either.
- Secrets are 32 random bytes shown as ``whsec_<base64>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (the prefix is optional); ValueError when malformed."""
    text = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(raw) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 bytes")
    return raw


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    if "." in msg_id:
        raise ValueError("a webhook id must not contain '.'")
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    if not keys:
        raise ValueError("no signing secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(k, msg_id, timestamp, body) for k in keys),
        "content-type": "application/json",
    }


def body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> bytes:
    """``{"type", "timestamp", "data"}``, the body shape the specification recommends."""
    return json.dumps({"type": event_type, "timestamp": timestamp.isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True).encode()
