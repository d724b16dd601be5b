"""One use case per consumed event type (``routes.py`` maps each (topic, event type) here).

Each takes the event and the batch's working set (``batch.GapsBatch``), which keeps the inputs
and re-evaluates the members they touched when the batch ends:

- a roster snapshot: the member's newest snapshot by event time is kept (a late older one is not);
- a claim version: kept beside the member's others (the claim book is rebuilt from all of them);
- a care transition or its cancel: kept for the follow-up measure (a cancel wins);
- a readmission: accepted and left alone (nothing for the measures).
"""

from __future__ import annotations

from shared.events import CareTransitionCancelledV1, CareTransitionV1, ClaimV1, MemberRosterV1, ReadmissionV1

from .batch import GapsBatch


# ---------------------------------------------------------------------- members.roster
def roster_snapshot(event: MemberRosterV1, batch: GapsBatch) -> None:
    batch.roster(event)


# ---------------------------------------------------------------------- claims.events
def claim_version(event: ClaimV1, batch: GapsBatch) -> None:
    batch.claim(event)


# ---------------------------------------------------------------------- care.transitions
def care_transition(event: CareTransitionV1, batch: GapsBatch) -> None:
    batch.transition(event)


def transition_cancelled(event: CareTransitionCancelledV1, batch: GapsBatch) -> None:
    batch.transition(event)


def readmission(event: ReadmissionV1, batch: GapsBatch) -> None:
    """Nothing for the measures (the discharge itself came as a care transition)."""
