"""Secrets at rest: AES-256-GCM (``cryptography``) with the service key (``SECRETS_KEY``).

Webhook signing secrets must be usable (HMAC needs the key), so they are encrypted, not hashed;
the FHIR channel headers (they carry the subscriber's credentials) too. Each sealed value is
``nonce (12 bytes) + ciphertext + tag``, with the subscription id and the kind as associated
data, so a value copied to another row does not open. Nothing here is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Development and tests only: production refuses to start without its own SECRETS_KEY.
DEV_KEY = hashlib.sha256(b"ccp notifications development key - never in production").digest()


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("SECRETS_KEY must be 32 bytes (base64)")
        self._aead = AESGCM(key)

    @classmethod
    def from_setting(cls, value: str | None, production: bool) -> "SecretBox":
        if not value:
            if production:
                raise SystemExit("SECRETS_KEY must be set in production (32 random bytes, base64)")
            return cls(DEV_KEY)
        try:
            key = base64.b64decode(value, validate=True)
        except ValueError:
            raise SystemExit("SECRETS_KEY is not base64") from None
        if production and key == DEV_KEY:
            raise SystemExit("SECRETS_KEY is the development key; refusing it in production")
        return cls(key)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], context.encode())
        except InvalidTag:
            raise ValueError("a stored secret does not open with this SECRETS_KEY") from None
