"""The worker's table: (topic, event type) → use case. The consumer dispatches through it.

Topic names come from the event classes (each spelled once, beside the registry entry in
``shared/contract/topics.yaml``, whose ``consumers`` name the portal for each topic here —
``tests/unit/portal/test_routes.py`` checks both). Event types on these topics the portal has
no use for (``alert.updated``, ``care.readmission``) are accepted and skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.events import (
    EVENT_CLASSES, AlertRaisedV1, AlertRetractedV1, CareTeamReplyV1, CareTransitionCancelledV1, CareTransitionV1, Event,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, PortalMessageSentV1, TaskLifecycleV1,
)

from .app import projection
from .app.ports import UnitOfWork

UseCase = Callable[[UnitOfWork, Event], None]


def _key(cls: type[Event]) -> tuple[str, str]:
    return cls.TOPIC, cls.model_fields["event_type"].default


_TABLE: dict[type[Event], UseCase] = {
    MemberRosterV1: projection.on_roster,
    AlertRaisedV1: projection.on_alert_raised,
    AlertRetractedV1: projection.on_alert_retracted,
    CareTransitionV1: projection.on_discharge,
    CareTransitionCancelledV1: projection.on_discharge_cancelled,
    GapOpenedV1: projection.on_gap,
    GapClosedV1: projection.on_gap,
    GapExcludedV1: projection.on_gap,
    TaskLifecycleV1: projection.on_task,
    PortalMessageSentV1: projection.on_message,
    CareTeamReplyV1: projection.on_reply,
}  # type: ignore[dict-item]

ROUTES: dict[tuple[str, str], UseCase] = {_key(cls): use_case for cls, use_case in _TABLE.items()}
TOPICS: tuple[str, ...] = tuple(dict.fromkeys(topic for topic, _ in ROUTES))
# Every event type that may appear on those topics (those without a route are skipped, not dead-lettered).
ACCEPTED: tuple[type[Event], ...] = tuple(c for c in EVENT_CLASSES if c.TOPIC in TOPICS)


def dispatch(uow: UnitOfWork, event: Event) -> bool:
    """Apply ``event``; False when the portal has no use for its type."""
    use_case = ROUTES.get((event.TOPIC, event.event_type))
    if use_case is None:
        return False
    use_case(uow, event)
    return True
