"""The risk worker's table: (topic, event type) → use case (``app/intake.py``).

The worker subscribes to exactly these topics, accepts exactly these event types (anything else
on them is dead-lettered) and dispatches each new event of a batch, in order, to its use case
(``shared.routing``); the batch (``app/batch.py``) then stores the facts, re-scores the members
it touched and returns the tier changes for ``risk.tiers``. Every event type on these topics has
a route: a cancelled discharge is consumed and changes nothing (``intake.ignore``: the visit
still happened). ``tests/unit/shared/test_topic_registry.py`` checks the registry's
``consumers:`` against this table.

Claims are routed as ``ClaimV2``, the model the codec hands over for every claim.submitted (a v1
body is lifted by the upcaster: no version stamps).
"""

from __future__ import annotations

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1, ClaimV2,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, ReadmissionV1,
)
from shared.routing import Route, Routes
from shared.topics import ALERTS, CLAIMS, GAPS, ROSTER, TRANSITIONS

from .app import intake

CONSUMER = "risk.scores"  # consumer name of its processed_events rows and metrics

ROUTES = Routes(CONSUMER, [
    Route(ROSTER, MemberRosterV1, intake.roster_snapshot),
    Route(CLAIMS, ClaimV2, intake.claim_version),
    Route(ALERTS, AlertRaisedV1, intake.alert_raised),
    Route(ALERTS, AlertUpdatedV1, intake.alert_updated),
    Route(ALERTS, AlertRetractedV1, intake.alert_retracted),
    Route(TRANSITIONS, CareTransitionV1, intake.discharge),
    Route(TRANSITIONS, CareTransitionCancelledV1, intake.ignore),
    Route(TRANSITIONS, ReadmissionV1, intake.readmission),
    Route(GAPS, GapOpenedV1, intake.gap_status),
    Route(GAPS, GapClosedV1, intake.gap_status),
    Route(GAPS, GapExcludedV1, intake.gap_status),
])
