"""The routing table: (topic, event type) -> use case. The worker dispatches through it, and
``tests/unit/risk/test_routes.py`` checks it against the topic registry's consumers."""

from __future__ import annotations

from collections.abc import Callable

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1, ClaimV1, Event,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, ReadmissionV1,
)

from .app import intake

Route = Callable[[intake.Batch, Event], None]


def _key(cls: type[Event]) -> tuple[str, str]:
    return cls.TOPIC, cls.model_fields["event_type"].default


ROUTES: dict[tuple[str, str], Route] = {
    _key(MemberRosterV1): intake.roster_snapshot,
    _key(ClaimV1): intake.claim_version,
    _key(AlertRaisedV1): intake.alert_raised,
    _key(AlertUpdatedV1): intake.alert_updated,
    _key(AlertRetractedV1): intake.alert_retracted,
    _key(CareTransitionV1): intake.discharge,
    _key(CareTransitionCancelledV1): intake.ignore,
    _key(ReadmissionV1): intake.readmission,
    _key(GapOpenedV1): intake.gap_status,
    _key(GapClosedV1): intake.gap_status,
    _key(GapExcludedV1): intake.gap_status,
}  # type: ignore[dict-item]

CONSUMED: tuple[type[Event], ...] = (
    MemberRosterV1, ClaimV1, AlertRaisedV1, AlertUpdatedV1, AlertRetractedV1, CareTransitionV1,
    CareTransitionCancelledV1, ReadmissionV1, GapOpenedV1, GapClosedV1, GapExcludedV1,
)
TOPICS: tuple[str, ...] = tuple(dict.fromkeys(topic for topic, _ in ROUTES))
CONSUMER_NAME = "risk.scores"


def route(event: Event) -> Route:
    return ROUTES[(event.TOPIC, event.event_type)]
