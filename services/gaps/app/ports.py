"""What the gaps use cases need from storage and Kafka, as protocols (cosmicpython's repository and
unit of work). ``adapters/`` implements them on SQLAlchemy; the unit tests use in-memory fakes
(``tests/unit/gaps/fakes.py``).

A member's state travels as ``MemberState``: the roster snapshot as ``domain.Member``, the claim
versions as the claim book reads them (``ClaimV1``-shaped; the SQL adapter's ``StoredClaim``),
the transitions as events, the stored gaps as ``domain.StoredGap``. A changed gap goes back as
``GapChange``; the API reads ``MemberView`` / ``GapView``, whose evidence is the domain's
``EvidenceItem`` (one type: the events carry ``shared.events.Evidence``, the API answers
``web.models.EvidenceOut``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from shared.errors import TransientError
from shared.events import Event, MemberRosterV1

from ..domain import EvidenceItem, MeasureResult, Member, StoredGap

Stamp = tuple[datetime, str]  # (occurred_at, event id): the later of two snapshots of a member wins
Cause = tuple[datetime, str]  # (occurred_at, event id) of the event that made us look at a member
Span = tuple[str, str]  # (first, last) member id of a run of the roster, in the store's own order


class StoreUnavailable(TransientError):
    """The database could not be reached or refused the transaction: try again."""


@dataclass
class MemberState:
    """What one member's evaluation reads."""

    member: Member | None = None
    claims: list[Any] = field(default_factory=list)  # every claim version (``ClaimV1``-shaped)
    transitions: list[Event] = field(default_factory=list)  # care transitions and their cancels
    gaps: dict[str, StoredGap] = field(default_factory=dict)  # gap key → the stored gap of the period
    # gap key → its evidence as the store keeps it: handed back untouched when a gap keeps it
    gap_evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class GapChange:
    """A gap whose stored state changed: ``result`` None when the evaluation no longer produced it
    (it keeps ``kept_evidence``, its last evidence)."""

    member_id: str
    gap: StoredGap
    result: MeasureResult | None
    kept_evidence: Any
    cause_id: str
    at: datetime


@dataclass(frozen=True)
class MemberView:
    member_id: str
    status: str
    pcp_practice_id: str
    contract_id: str
    pod: str | None
    sex: str
    birth_date: date
    names: Mapping[str, str | None]  # given_name, family_name (the FHIR Patient's name)


@dataclass(frozen=True)
class GapView:
    gap_key: str
    measure_id: str
    measure_version: str
    period_start: date
    period_end: date
    instance_id: str | None
    status: str
    reason: str
    evidence: tuple[EvidenceItem, ...]
    due_date: date | None
    lapses_on: date | None
    practice_id: str
    contract_id: str
    updated_at: datetime


RateCount = tuple[str, str | None, str | None, str, int]  # (measure, practice, contract, status, gaps)


class MemberRepository(Protocol):
    def stamps(self, member_ids: Sequence[str]) -> dict[str, Stamp]:
        """The stored snapshot's stamp of each of these members that has one."""

    def save(self, snapshots: Sequence[MemberRosterV1], at: datetime) -> None:
        """Keep these snapshots (each replaces its member's stored one); ``InvalidEvent`` for a
        snapshot the store cannot keep (a NUL character)."""

    def ids(self) -> list[str]:
        """Every member id, in the store's own order (a run of them is a ``Span``)."""

    def lock(self, member_ids: Iterable[str], *, span: Span | None = None) -> None:
        """Hold these members until the transaction ends (evaluations of other processes wait)."""


class InputRepository(Protocol):
    def add(self, events: Sequence[Event]) -> None:
        """Keep these claim versions / transition events (an event id kept already is skipped);
        ``InvalidEvent`` for one the store cannot keep."""


class GapRepository(Protocol):
    def states(self, member_ids: Iterable[str], period_start: date, *, span: Span | None = None
               ) -> dict[str, MemberState]: ...

    def save(self, changes: Sequence[GapChange]) -> None: ...

    def open_counts(self, period_start: date) -> dict[str, int]:
        """Open gaps of the period by measure."""

    def lapsing(self, period_start: date, day: date, horizon: date) -> list[str]:
        """Members with a closed gap lapsing by ``horizon`` or an open one due before ``day``."""


class ReadRepository(Protocol):
    def member(self, member_id: str) -> MemberView | None: ...

    def member_gaps(self, member_id: str, period_start: date) -> list[GapView]: ...

    def rate_counts(self, period_start: date, *, by_practice: bool, by_contract: bool, measure_id: str | None,
                    practice_id: str | None, contract_id: str | None) -> list[RateCount]: ...


class JobRuns(Protocol):
    def last_day(self, job: str) -> date | None: ...

    def finished(self, job: str, day: date, at: datetime) -> None: ...


class AuditLog(Protocol):
    def record(self, *, user_id: str, role: str, member_ids: Iterable[str | None], action: str, endpoint: str,
               detail: str | None = None) -> None: ...


class UnitOfWork(Protocol):
    members: MemberRepository
    claims: InputRepository
    transitions: InputRepository
    gaps: GapRepository
    reads: ReadRepository
    runs: JobRuns
    audit: AuditLog

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def publish(self, events: Sequence[Event]) -> None:
        """Events for Kafka, written (confirmed) by ``commit`` before the transaction commits."""

    def commit(self) -> None: ...

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction committed (metrics count committed work once)."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
