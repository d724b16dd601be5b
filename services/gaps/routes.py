"""The gaps worker's table: (topic, event type) → use case (``app/handlers.py``).

The worker subscribes to exactly these topics, accepts exactly these event types (anything
else on them is dead-lettered) and dispatches each new event of a batch, in order, to its use
case (``shared.routing``); the batch's working set (``app/batch.GapsBatch``) then re-evaluates the
members the batch touched. ``tests/unit/shared/test_topic_registry.py`` checks the registry's
``consumers:`` against this table.
"""

from __future__ import annotations

from shared.events import CareTransitionCancelledV1, CareTransitionV1, ClaimV1, MemberRosterV1, ReadmissionV1
from shared.routing import Route, Routes
from shared.topics import CLAIMS, ROSTER, TRANSITIONS

from .app import handlers

CONSUMER = "gaps.worker"  # consumer name of its processed_events rows and metrics

ROUTES = Routes(CONSUMER, [
    Route(ROSTER, MemberRosterV1, handlers.roster_snapshot),
    # every version of a claim: the codec decodes each into ClaimV2, a ClaimV1 (the route of its base)
    Route(CLAIMS, ClaimV1, handlers.claim_version),
    Route(TRANSITIONS, CareTransitionV1, handlers.care_transition),
    Route(TRANSITIONS, CareTransitionCancelledV1, handlers.transition_cancelled),
    Route(TRANSITIONS, ReadmissionV1, handlers.readmission),
])
