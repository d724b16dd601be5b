"""Who may see what: a member sees their own records and nothing else.

Every read and every command takes the signed-in ``Principal``; no use case takes a member id
from the request. A record of another member answers exactly as a record that does not exist
(``NotFound``), so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import NotFound

SignInMethod = Literal["dev_code", "oidc"]


@dataclass(frozen=True)
class Principal:
    """The signed-in member: who (member id), how they proved it, and their session."""

    member_id: str
    via: SignInMethod
    session_ref: str = ""       # a non-secret reference to the session (for the audit), never the cookie

    @property
    def audit_user(self) -> str:
        return f"member:{self.member_id}"[:64]


def require_own(principal: Principal, owner_member_id: str | None, what: str) -> None:
    """Refuse (as not found) a record that belongs to someone else."""
    if owner_member_id is None or owner_member_id != principal.member_id:
        raise NotFound(what)
