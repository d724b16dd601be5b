"""The admissions worker's table: (topic, event type) → use case (``app/handlers.py``).

The worker subscribes to exactly these topics, accepts exactly these event types (anything
else on them is dead-lettered) and dispatches each new event of a batch, in order, to its use
case (``shared.routing``). One consumer for both topics, so one member's roster and ADT changes
never race. ``tests/unit/shared/test_topic_registry.py`` checks the registry's ``consumers:``
against this table.
"""

from __future__ import annotations

from shared.events import AdtEventV2, MemberRosterV1
from shared.routing import Route, Routes
from shared.topics import ADT, ROSTER

from .app import handlers

CONSUMER = "admissions.worker"  # consumer name of its processed_events rows, group and metrics

ROUTES = Routes(CONSUMER, [
    Route(ROSTER, MemberRosterV1, handlers.roster_member),
    Route(ADT, AdtEventV2, handlers.adt_message),
])
