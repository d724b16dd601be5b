"""The protocols the use cases are written against. ``adapters/`` implements them on SQLAlchemy
(and aiohttp / asyncio for the senders); ``tests/unit/notifications`` with in-memory fakes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from shared.events import AdtEventV1

from ..domain.model import EncounterFacts, GapFacts, Member, Notification, TaskFacts
from ..domain.payloads import Payload
from ..domain.retry import Outcome
from ..domain.subscription import Subscription


# ---------------------------------------------------------------------- intake (the worker's batches)

class Members(Protocol):
    def load(self, member_ids: Iterable[str], patient_keys: Iterable[str]) -> None: ...
    def get(self, member_id: str) -> Member | None: ...
    def by_patient(self, patient_key: str) -> Member | None: ...
    def put(self, member: Member) -> None: ...


class Encounters(Protocol):
    def load(self, keys: Iterable[str], refs: Iterable[str]) -> None: ...
    def get(self, key: str) -> EncounterFacts | None: ...
    def by_ref(self, ref: str) -> EncounterFacts | None:
        """The encounter an alert id or a transition id belongs to."""

    def put(self, encounter: EncounterFacts, refs: Iterable[str] = ()) -> None: ...


class Gaps(Protocol):
    def put(self, gap: GapFacts) -> None: ...


class Tasks(Protocol):
    def load(self, task_ids: Iterable[str]) -> None: ...
    def get(self, task_id: str) -> TaskFacts | None: ...
    def put(self, task: TaskFacts) -> None: ...
    def overdue_candidates(self, today: date, limit: int) -> list[TaskFacts]:
        """Tasks awaiting contact, due before ``today``, not yet notified for their due date
        (locked for this unit of work; others skip them)."""

    def mark_notified(self, task_id: str, due: date) -> None: ...


class HeldAdt(Protocol):
    """HL7 messages of patients the MRN crosswalk did not know yet (kept for a while: the roster
    may name them later)."""

    def hold(self, event: AdtEventV1) -> None: ...
    def load(self, patient_keys: Iterable[str]) -> None: ...
    def take(self, patient_keys: Iterable[str]) -> list[AdtEventV1]:
        """The held messages of these patients, oldest first, no longer held."""

    def purge(self, older_than: datetime) -> int: ...


class Outbox(Protocol):
    def subscriptions(self) -> Sequence[Subscription]:
        """Every subscription that may owe deliveries (not off)."""

    def append(self, owed: Sequence[tuple[Notification, Sequence[Subscription]]]) -> int:
        """Store the notifications that are new (an id already stored is skipped) and, for
        each, one delivery per subscription with the subscription's next event number, in
        this unit of work. Returns the deliveries created."""


class IntakeUnit(Protocol):
    members: Members
    encounters: Encounters
    gaps: Gaps
    tasks: Tasks
    outbox: Outbox
    held: HeldAdt

    def flush(self) -> None:
        """Write what the batch changed (in its transaction; kept in memory until then)."""


# ---------------------------------------------------------------------- dispatch

@dataclass(frozen=True)
class Leased:
    """A delivery leased to this dispatcher: the subscription and notification it needs."""

    delivery_id: int
    subscription: Subscription
    notification: Notification
    event_number: int
    attempts: int  # before this one
    created_at: datetime
    failures: int  # the subscription's consecutive failures when leased


@dataclass(frozen=True)
class AttemptResult:
    delivery_id: int | None  # None: a handshake or heartbeat
    subscription_id: str
    event_id: uuid.UUID | None
    kind: str  # event | handshake | heartbeat
    endpoint: str
    started_at: datetime
    outcome: Outcome
    # what the dispatcher decided
    state: str  # delivered | pending | dead | (handshake/heartbeat: n/a)
    due_at: datetime | None = None  # pending: the next probe
    failures: int = 0  # the subscription's consecutive failures after this attempt
    subscription_error: str | None = None  # set the subscription to error with this reason


@dataclass(frozen=True)
class Control:
    """A handshake or heartbeat owed by a FHIR subscription."""

    kind: str  # handshake | heartbeat
    subscription: Subscription


class DispatchStore(Protocol):
    def lease(self, now: datetime, owner: str, lease_until: datetime, batch: int) -> list[Leased]:
        """Deliveries ready to send: of active subscriptions, due, not leased, each the oldest
        owed for its member in its subscription, within the subscription's in-flight window
        (one probe while the subscription is failing). Leased to ``owner`` until ``lease_until``."""

    def controls(self, now: datetime, owner: str, lease_until: datetime) -> list[Control]:
        """Handshakes of requested FHIR subscriptions and heartbeats due, claimed for ``owner``."""

    def record(self, results: Sequence[AttemptResult], now: datetime, owner: str) -> None:
        """Attempts, delivery states and subscription states, in one transaction."""

    def end_due(self, now: datetime) -> list[str]:
        """Turn off the subscriptions whose end has passed; their ids."""

    def unreachable(self, now: datetime) -> list[Subscription]:
        """Active subscriptions in a backoff after failing to connect to their receiver."""

    def probe_now(self, subscription_id: str, now: datetime) -> bool:
        """Make the subscription's probe due now (its receiver accepts connections again)."""

    def signing_keys(self, subscription: Subscription, now: datetime) -> list[bytes]: ...
    def channel_headers(self, subscription: Subscription) -> dict[str, str]: ...
    def events_count(self, subscription_id: str) -> int: ...


class Sender(Protocol):
    async def send(self, subscription: Subscription, payload: Payload, headers: dict[str, str]) -> Outcome: ...
    async def reachable(self, subscription: Subscription) -> bool:
        """Whether a connection to the receiver can be made now (nothing is sent)."""

    async def close(self) -> None: ...
