"""What the use cases need from the outside world, as protocols.

The adapters (``adapters/``: SQLAlchemy repositories and unit of work, the Kafka publisher, the
OpenID Connect client, the file directory) implement them for the service; the
unit tests implement them in memory (``tests/unit/portal/fakes.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.events import Event

from ..domain.model import CareTask, Clinician, Encounter, Gap, Member, Message, Practice, Reply


class MemberRepository(Protocol):
    def get(self, member_id: str) -> Member | None: ...
    def put(self, member: Member) -> None: ...


class EncounterRepository(Protocol):
    def get(self, member_id: str, encounter_key: str) -> Encounter | None: ...
    def by_alert(self, member_id: str, alert_id: uuid.UUID) -> Encounter | None: ...
    def by_transition(self, member_id: str, transition_id: uuid.UUID) -> Encounter | None: ...
    def put(self, encounter: Encounter) -> None: ...
    def of_member(self, member_id: str) -> list[Encounter]: ...


class GapRepository(Protocol):
    def get(self, gap_key: str) -> Gap | None: ...
    def put(self, gap: Gap) -> None: ...
    def of_member(self, member_id: str) -> list[Gap]: ...


class TaskRepository(Protocol):
    def get(self, task_id: uuid.UUID) -> CareTask | None: ...
    def put(self, task: CareTask) -> None: ...
    def of_member(self, member_id: str) -> list[CareTask]: ...


class MessageRepository(Protocol):
    def get(self, message_id: uuid.UUID) -> Message | None: ...
    def add(self, message: Message) -> bool: ...        # False when it was already there
    def of_member(self, member_id: str) -> list[Message]: ...


class ReplyRepository(Protocol):
    def get(self, reply_id: uuid.UUID) -> Reply | None: ...
    def add(self, reply: Reply) -> bool: ...
    def of_member(self, member_id: str) -> list[Reply]: ...


@dataclass(frozen=True)
class SessionRecord:
    session_hash: str
    member_id: str
    via: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked: bool = False


class SessionRepository(Protocol):
    def add(self, record: SessionRecord) -> None: ...
    def get(self, session_hash: str) -> SessionRecord | None: ...
    def touch(self, session_hash: str, at: datetime) -> None: ...
    def revoke(self, session_hash: str, at: datetime) -> None: ...


class SignInAttempts(Protocol):
    def failures_since(self, member_key: str, since: datetime) -> list[datetime]: ...
    def record_failure(self, member_key: str, at: datetime) -> None: ...
    def clear(self, member_key: str) -> None: ...


@dataclass(frozen=True)
class PendingLogin:
    """An OpenID Connect sign-in between the redirect to the provider and its answer."""

    state_hash: str
    nonce: str
    code_verifier: str | None
    created_at: datetime


class PendingLogins(Protocol):
    def add(self, pending: PendingLogin) -> None: ...
    def take(self, state_hash: str) -> PendingLogin | None: ...   # single use: removed when taken


class AuditLog(Protocol):
    def record(self, *, user_id: str, role: str, member_id: str | None, action: str, endpoint: str,
               detail: str | None = None) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over every repository. ``commit`` makes the work durable; leaving the
    ``with`` block without it rolls back."""

    members: MemberRepository
    encounters: EncounterRepository
    gaps: GapRepository
    tasks: TaskRepository
    messages: MessageRepository
    replies: ReplyRepository
    sessions: SessionRepository
    attempts: SignInAttempts
    pending_logins: PendingLogins
    audit: AuditLog

    def __enter__(self) -> "UnitOfWork": ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction committed, never for one rolled back (metrics count
        committed work only)."""


class Publisher(Protocol):
    """Writes events and returns only when the broker confirmed them (raises otherwise)."""

    def publish(self, events: Sequence[Event]) -> None: ...


class Directory(Protocol):
    """Names a member can read: practices, clinicians, hospitals, care-team staff."""

    def practice(self, practice_id: str) -> Practice: ...
    def clinician(self, npi: str | None) -> Clinician | None: ...
    def facility(self, facility_id: str) -> str: ...
    def staff_name(self, user_id: str | None) -> str | None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]  # a new unit of work (a transaction of its own) per call


class IdentityProviderFailure(Exception):
    """The identity provider's answer could not be used (the text names the step, never a token)."""


class IdentityProvider(Protocol):
    """The member's own account at an OpenID Connect provider (``adapters/oidc.py``). Each call
    raises ``IdentityProviderFailure`` when the provider's answer cannot be used."""

    async def begin(self, redirect_uri: str) -> dict[str, Any]:
        """Where to send the member, and the state/nonce/verifier to keep until they come back."""

    async def finish(self, *, redirect_uri: str, code: str, nonce: str, code_verifier: str | None
                     ) -> dict[str, Any]:
        """The verified ID token's claims for the code the provider sent the member back with."""

    async def verify_access_token(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of a bearer access token issued by the provider for ``audience``."""
