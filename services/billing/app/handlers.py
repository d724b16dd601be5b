"""One use case per consumed event type (``routes.py`` maps each (topic, event type) here).

Each takes the event and the batch's working set (``batch.LedgerBatch``):

- a roster snapshot recomputes every key of the member from all their snapshots and claim
  versions, through the open month;
- a claim version recomputes the cost / carve-out keys of the claim families it touches (the
  version-ordering rule, ``shared.claim_versions``) and keeps the held corrections in step;
- a new computed tier history (``risk.tiers``) re-accrues the member like a roster snapshot;
- gap, transition, readmission and task events are stored as facts and mark their contract's
  estimates dirty from the event's month (written together at the end of the batch).
"""

from __future__ import annotations

from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1,
    ReadmissionV1, RiskTierChangedV1, TaskLifecycleV1,
)

from .batch import LedgerBatch


# ---------------------------------------------------------------------- members.roster
def roster_snapshot(event: MemberRosterV1, batch: LedgerBatch) -> None:
    batch.roster(event)


# ---------------------------------------------------------------------- claims.events
def claim_version(event: ClaimV1, batch: LedgerBatch) -> None:
    batch.claim(event)


# ---------------------------------------------------------------------- risk.tiers
def tier_history(event: RiskTierChangedV1, batch: LedgerBatch) -> None:
    batch.tier_history(event)


# ---------------------------------------------------------------------- gaps.events
def gap_opened(event: GapOpenedV1, batch: LedgerBatch) -> None:
    batch.gap(event)


def gap_closed(event: GapClosedV1, batch: LedgerBatch) -> None:
    batch.gap(event)


def gap_excluded(event: GapExcludedV1, batch: LedgerBatch) -> None:
    batch.gap(event)


# ---------------------------------------------------------------------- care.transitions
def care_transition(event: CareTransitionV1, batch: LedgerBatch) -> None:
    batch.transition(event)


def transition_cancelled(event: CareTransitionCancelledV1, batch: LedgerBatch) -> None:
    batch.transition(event)


def readmission(event: ReadmissionV1, batch: LedgerBatch) -> None:
    batch.transition(event)


# ---------------------------------------------------------------------- outreach.tasks
def task_step(event: TaskLifecycleV1, batch: LedgerBatch) -> None:
    batch.task_step(event)
