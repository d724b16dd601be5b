"""The outreach worker's table: (topic, event type) → use case (``app/handlers.py``).

The worker subscribes to exactly these topics, accepts exactly these event types (anything
else on them is dead-lettered) and dispatches each new event of a batch, in order, to its use
case (``shared.routing``). ``tests/unit/shared/test_topic_registry.py`` checks the registry's
``consumers:`` against this table.
"""

from __future__ import annotations

from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1,
    PortalMessageSentV1, ReadmissionV1, RiskTierChangedV1,
)
from shared.routing import Route, Routes
from shared.topics import CLAIMS, GAPS, PORTAL_MESSAGES, RISK_TIERS, ROSTER, TRANSITIONS

from .app import handlers

CONSUMER = "outreach.tasks"  # consumer name of its processed_events rows and metrics

ROUTES = Routes(CONSUMER, [
    Route(GAPS, GapOpenedV1, handlers.gap_opened),
    Route(GAPS, GapClosedV1, handlers.gap_closed),
    Route(GAPS, GapExcludedV1, handlers.gap_excluded),
    Route(TRANSITIONS, CareTransitionV1, handlers.care_transition),
    Route(TRANSITIONS, CareTransitionCancelledV1, handlers.transition_cancelled),
    Route(TRANSITIONS, ReadmissionV1, handlers.readmission),
    Route(ROSTER, MemberRosterV1, handlers.roster_snapshot),
    Route(CLAIMS, ClaimV1, handlers.claim),
    Route(PORTAL_MESSAGES, PortalMessageSentV1, handlers.portal_message),
    Route(RISK_TIERS, RiskTierChangedV1, handlers.risk_tier_changed),
])
