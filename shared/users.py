"""API users, roles and keys, shared by every service's API (pure: no HTTP; the FastAPI
dependencies are in ``shared.auth``, which re-exports these names).

Users come from a YAML file (setting ``USERS_FILE``): id, display name, roles (nurse,
supervisor, ops, admin, hospitalist), the pods / practices / hospitalist groups they work in,
capacity, and the SHA-256 hashes of their API keys. A request authenticates with
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. (Pages use their own signed session
cookies; a raw key is never accepted from a cookie.)

``deploy/users.dev.yaml`` holds well-known development keys; outside ``ENVIRONMENT=development``
or ``test`` a process refuses to start with them, or with no users file at all.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Role = Literal["nurse", "care_navigator", "social_worker", "dietician", "supervisor", "ops", "admin", "hospitalist"]
REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_USERS_FILE = REPO_ROOT / "deploy" / "users.dev.yaml"


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=100)
    roles: frozenset[Role]
    pods: frozenset[str] = frozenset()
    practices: frozenset[str] = frozenset()
    hospitalist_groups: frozenset[str] = frozenset()
    capacity: int = Field(default=40, ge=0)
    api_keys_sha256: tuple[str, ...] = ()

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def primary_role(self) -> str:
        for r in ("admin", "supervisor", "ops", "hospitalist", "nurse", "care_navigator", "social_worker", "dietician"):
            if r in self.roles:
                return r
        return next(iter(self.roles), "none")


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: list[User]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class UserDirectory:
    def __init__(self, users: list[User], source: str = "<memory>") -> None:
        self.users = {u.id: u for u in users}
        self.source = source
        self._by_hash = {h: u for u in users for h in u.api_keys_sha256}

    @classmethod
    def load(cls, path: str | Path | None) -> "UserDirectory":
        p = Path(path) if path else DEV_USERS_FILE
        try:
            data = UsersFile.model_validate(yaml.safe_load(p.read_text()))
        except FileNotFoundError:
            raise SystemExit(f"users file not found: {p}") from None
        except ValidationError as exc:
            raise SystemExit(f"users file {p} is invalid: {exc.error_count()} error(s), first: "
                             f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
        return cls(data.users, str(p))

    def authenticate(self, key: str | None) -> User | None:
        if not key:
            return None
        digest = hash_key(key)
        # constant-time comparison against every known hash
        match = None
        for h, user in self._by_hash.items():
            if hmac.compare_digest(h, digest):
                match = user
        return match

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def uses_dev_keys(self) -> bool:
        dev = UserDirectory.load(DEV_USERS_FILE) if DEV_USERS_FILE.exists() else None
        return bool(dev and set(dev._by_hash) & set(self._by_hash))


def load_directory(users_file: str | None, environment: str) -> UserDirectory:
    """The users for a process; refuses default (development) keys outside development/test."""
    if environment not in ("development", "test"):
        if not users_file:
            raise SystemExit("USERS_FILE must be set outside development (refusing the development users)")
        directory = UserDirectory.load(users_file)
        if directory.uses_dev_keys():
            raise SystemExit(f"{users_file} contains development API keys; refusing to start in {environment}")
        return directory
    return UserDirectory.load(users_file)
