"""The notifications worker's table: (topic, event type) → use case (``app/intake.py``).

The worker subscribes to exactly these topics, accepts exactly these event types (anything else
on them is dead-lettered with the reason) and dispatches each new event of a batch, in order, to
its use case through the shared consumer pipeline (``shared.routing``); the batch's working set
is ``app/batch.py``'s ``IntakeBatch``. ``tests/unit/shared/test_topic_registry.py`` checks the
registry's ``consumers:`` against this table, ``tests/unit/notifications/test_routes.py`` that
every event type on a consumed topic has a route.
"""

from __future__ import annotations

from shared.events import (
    AdtEventV1, AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, ReadmissionV1, TaskLifecycleV1,
)
from shared.routing import Route, Routes
from shared.topics import ADT, ALERTS, GAPS, ROSTER, TASKS, TRANSITIONS

from .app import intake
from .app.batch import IntakeBatch

CONSUMER = "notifications.worker"  # consumer name of its processed_events rows, group and metrics

ROUTES = Routes(CONSUMER, [
    Route(ROSTER, MemberRosterV1, intake.roster_changed),
    # version 1 and its successors (AdtEventV2 subclasses it: the codec lifts v1 payloads to v2)
    Route(ADT, AdtEventV1, intake.adt_message),
    Route(ALERTS, AlertRaisedV1, intake.alert_raised),
    Route(ALERTS, AlertUpdatedV1, intake.alert_updated),
    Route(ALERTS, AlertRetractedV1, intake.alert_retracted),
    Route(TRANSITIONS, CareTransitionV1, intake.discharged),
    Route(TRANSITIONS, CareTransitionCancelledV1, intake.discharge_cancelled),
    Route(TRANSITIONS, ReadmissionV1, intake.ignored),
    Route(GAPS, GapOpenedV1, intake.gap_changed),
    Route(GAPS, GapClosedV1, intake.gap_changed),
    Route(GAPS, GapExcludedV1, intake.gap_changed),
    Route(TASKS, TaskLifecycleV1, intake.task_changed),
], begin=IntakeBatch.starter())
