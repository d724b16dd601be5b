"""Consumed events → stored facts, re-scored members, tier changes: one batch's working set.

``ScoringBatch.starter(ctx)`` is the ``begin(uow, events)`` the worker gives the routes table
(``routes.py``, ``shared.routing``). Each event's use case (``intake.py``, one per (topic, event
type)) records what its event teaches into the batch; :meth:`ScoringBatch.finish` stores it
(roster snapshots only when newer than the stored one), re-scores every member the batch touched
(``rescore``), counts the metrics once the transaction committed and returns the tier changes,
which the consumer pipeline writes to ``risk.tiers``, confirmed, before it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.events import Event, RiskTierChangedV1

from .. import metrics
from ..domain.claims import ClaimFacts
from ..domain.members import AdtEncounter, Member, Readmission
from .context import RiskContext
from .ports import GapStatus, RiskRepository, UnitOfWork
from .rescore import rescore


@dataclass
class Facts:
    """What a batch's events teach, gathered before anything is written."""

    members: dict[str, Member] = field(default_factory=dict)
    claims: list[ClaimFacts] = field(default_factory=list)
    encounters: list[tuple[AdtEncounter, str | None]] = field(default_factory=list)
    retracted_alerts: list[tuple[str, str]] = field(default_factory=list)
    readmissions: list[Readmission] = field(default_factory=list)
    gaps: list[GapStatus] = field(default_factory=list)

    def store(self, repo: RiskRepository) -> None:
        if self.members:
            existing = repo.members(self.members)
            newer = [m for mid, m in self.members.items()
                     if mid not in existing or newer_snapshot(m, existing[mid])]
            repo.put_members(newer)
        repo.add_claims(self.claims)
        repo.put_encounters(self.encounters)
        repo.retract_alerts(self.retracted_alerts)
        repo.put_readmissions(self.readmissions)
        repo.put_gap_statuses(self.gaps)


def newer_snapshot(a: Member, b: Member) -> bool:
    """Whether roster snapshot ``a`` replaces ``b`` (event time decides; ties: the later arrival)."""
    return b.roster_at is None or (a.roster_at is not None and a.roster_at >= b.roster_at)


class ScoringBatch:
    """One batch of consumed events over one unit of work."""

    def __init__(self, uow: UnitOfWork, ctx: RiskContext, events: Sequence[Event]) -> None:
        self.uow = uow
        self.ctx = ctx
        self.facts = Facts()
        self.touched: set[str] = set()
        self.ignored = 0
        # the members of every event applied: what ``risk_members_scored_total{trigger="event"}`` counts
        self._event_members = {e.member_id for e in events if e.member_id}
        # a batch of one event names it as the cause of its tier changes
        self._cause = str(events[-1].event_id) if len(events) == 1 else None

    @classmethod
    def starter(cls, ctx: RiskContext) -> Callable[[UnitOfWork, Sequence[Event]], ScoringBatch]:
        """``begin(uow, events)`` for the routes table, with the context bound."""

        def begin(uow: UnitOfWork, events: Sequence[Event]) -> ScoringBatch:
            return cls(uow, ctx, events)

        return begin

    def touch(self, member_id: str) -> None:
        """The member is re-scored at the end of the batch."""
        self.touched.add(member_id)

    def finish(self) -> list[RiskTierChangedV1]:
        repo = self.uow.repo
        self.facts.store(repo)
        changes = rescore(repo, self.touched, self.ctx, cause=self._cause)
        scored = len(self._event_members)
        tiers = [(e.contract_id, e.old_tier, e.new_tier) for e in changes]

        def count() -> None:
            metrics.MEMBERS_SCORED.labels("event").inc(scored)
            for labels in tiers:
                metrics.TIER_CHANGES.labels(*labels).inc()

        self.uow.after_commit(count)
        return changes
