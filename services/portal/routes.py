"""The portal worker's table: (topic, event type) → use case (``app/projection.py``).

The worker subscribes to exactly these topics, accepts exactly these event types (anything else
on them is dead-lettered) and dispatches each new event of a batch, in order, to its use case
(``shared.routing``). Every event type on these topics has a route: those the member's pages
have no use for (``alert.updated``, ``care.readmission``) go to ``projection.skip``, accepted and
changing nothing. ``tests/unit/shared/test_topic_registry.py`` checks the registry's
``consumers:`` against this table, ``tests/unit/portal/test_routes.py`` that every event type the
registry lists on these topics has a route.
"""

from __future__ import annotations

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTeamReplyV1, CareTransitionCancelledV1, CareTransitionV1,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, PortalMessageSentV1, ReadmissionV1, TaskLifecycleV1,
)
from shared.routing import Route, Routes
from shared.topics import ALERTS, GAPS, PORTAL_MESSAGES, PORTAL_REPLIES, ROSTER, TASKS, TRANSITIONS

from .app import projection

CONSUMER = "portal.projection"  # consumer name of its processed_events rows and metrics

ROUTES = Routes(CONSUMER, [
    Route(ROSTER, MemberRosterV1, projection.on_roster),
    Route(ALERTS, AlertRaisedV1, projection.on_alert_raised),
    Route(ALERTS, AlertUpdatedV1, projection.skip),
    Route(ALERTS, AlertRetractedV1, projection.on_alert_retracted),
    Route(TRANSITIONS, CareTransitionV1, projection.on_discharge),
    Route(TRANSITIONS, CareTransitionCancelledV1, projection.on_discharge_cancelled),
    Route(TRANSITIONS, ReadmissionV1, projection.skip),
    Route(GAPS, GapOpenedV1, projection.on_gap),
    Route(GAPS, GapClosedV1, projection.on_gap),
    Route(GAPS, GapExcludedV1, projection.on_gap),
    Route(TASKS, TaskLifecycleV1, projection.on_task),
    Route(PORTAL_MESSAGES, PortalMessageSentV1, projection.on_message),
    Route(PORTAL_REPLIES, CareTeamReplyV1, projection.on_reply),
], begin=projection.ProjectionBatch.begin)
