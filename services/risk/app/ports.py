"""What the use cases need from storage: the repository and unit-of-work protocols (the adapters
implement them on SQLAlchemy; the unit tests in memory)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from ..domain.claims import ClaimFacts
from ..domain.members import AdtEncounter, Member, Readmission
from ..domain.segments import Segment


@dataclass
class TierState:
    """The member's computed tiers by effective date, and the last stored assessment's summary
    (an assessment whose summary did not change is not written again)."""

    member_id: str
    history: list[tuple[date, str]] = field(default_factory=list)
    summary: tuple = ()


@dataclass(frozen=True)
class StoredAssessment:
    member_id: str
    contract_id: str
    practice_id: str
    assessed_on: date
    model: str
    raw_score: float | None
    payment_score: float | None
    computed_tier: str
    tier_in_force: str
    history: tuple[tuple[date, str], ...]
    reasons: tuple[str, ...] = ()

    @property
    def summary(self) -> tuple:
        return (self.contract_id, self.practice_id, self.model, self.raw_score, self.payment_score,
                self.computed_tier, self.tier_in_force, tuple(self.history), tuple(self.reasons))


@dataclass
class MemberFacts:
    """Everything the assessments of a set of members read (members absent from ``members`` are
    not on the roster)."""

    members: dict[str, Member] = field(default_factory=dict)
    segments: dict[str, Segment] = field(default_factory=dict)
    claims: dict[str, list[ClaimFacts]] = field(default_factory=dict)
    encounters: dict[str, list[AdtEncounter]] = field(default_factory=dict)
    readmissions: dict[str, list[Readmission]] = field(default_factory=dict)
    open_gaps: dict[str, int] = field(default_factory=dict)
    states: dict[str, "TierState"] = field(default_factory=dict)


@dataclass(frozen=True)
class GapStatus:
    member_id: str
    gap_key: str
    status: str
    occurred_at: datetime


class RiskRepository(Protocol):
    # members and segments
    def members(self, ids: Iterable[str]) -> dict[str, Member]: ...
    def put_members(self, members: list[Member]) -> None: ...
    def segments(self, ids: Iterable[str]) -> dict[str, Segment]: ...
    def put_segments(self, segments: dict[str, Segment]) -> None: ...
    def member_ids(self, after: str | None, limit: int, until: str | None = None) -> list[str]:
        """Up to ``limit`` member ids in (``after``, ``until``], in the store's order."""
        ...

    def member_facts(self, ids: list[str], *, span: tuple[str, str] | None = None) -> MemberFacts:
        """What the assessments of ``ids`` read, in a few reads. ``span``: ``ids`` are every member id
        from ``span[0]`` to ``span[1]`` in the store's order (a chunk of the full re-score, from
        ``member_ids``): the store may read that range rather than look up each id."""
        ...
    # facts
    def add_claims(self, claims: list[ClaimFacts]) -> None: ...
    def claims(self, ids: Iterable[str]) -> dict[str, list[ClaimFacts]]: ...
    def put_encounters(self, encounters: list[tuple[AdtEncounter, str | None]]) -> None: ...
    def retract_alerts(self, alerts: list[tuple[str, str]]) -> None: ...
    def encounters(self, ids: Iterable[str]) -> dict[str, list[AdtEncounter]]: ...
    def put_readmissions(self, readmissions: list[Readmission]) -> None: ...
    def readmissions(self, ids: Iterable[str]) -> dict[str, list[Readmission]]: ...
    def put_gap_statuses(self, statuses: list[GapStatus]) -> None: ...
    def open_gap_counts(self, ids: Iterable[str]) -> dict[str, int]: ...
    # results
    def tier_states(self, ids: Iterable[str]) -> dict[str, TierState]: ...
    def put_assessments(self, assessments: list[StoredAssessment]) -> None: ...
    def assessment(self, member_id: str) -> StoredAssessment | None: ...
    # the ED evidence: members (after ``after``, ``limit`` of them) with their ADT ED visits and claims
    def ed_facts(self, after: str | None, limit: int) -> list[tuple[Member, list[AdtEncounter], list[ClaimFacts]]]: ...


class UnitOfWork(Protocol):
    """A consumed batch's transaction (the consumer pipeline owns it: it commits, with the batch's
    processed-events rows and after its derived events were confirmed by Kafka)."""

    repo: RiskRepository

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction committed, never for an attempt rolled back (metrics
        count committed work only)."""
