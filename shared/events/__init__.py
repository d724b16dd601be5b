"""The platform's event contract: envelope, models, lookup by (event_type, schema_version)."""

from __future__ import annotations

from .adt import (
    SUPPORTED_TRIGGERS, SUPPORTED_TRIGGERS_V2, AdtEventV1, AdtEventV2, Clinician, Diagnosis, FieldWarning, Location,
    PatientIdentifier, PatientIdentifierV2,
)
from .adt import UPCASTERS as _ADT_UPCASTERS
from .alerts import AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1
from .claims import ClaimLine, ClaimV1, ClaimV2, upcast_claim_v1_v2
from .envelope import DERIVED_NAMESPACE, Event, Model, derive_id, utcnow
from .gaps import Evidence, GapClosedV1, GapExcludedV1, GapOpenedV1
from .ledger import LedgerEntryV1
from .notifications import NotificationDeadLetteredV1
from .portal import CareTeamReplyV1, PortalMessageSentV1
from .risk import HccDriver, RiskTierChangedV1, TierSpan, UtilizationFactors
from .roster import AttributionSpan, EligibilitySpan, MemberRosterV1, MrnXref
from .tasks import TaskLifecycleV1
from .transitions import CareTransitionCancelledV1, CareTransitionV1, ReadmissionV1

EVENT_CLASSES: tuple[type[Event], ...] = (
    MemberRosterV1,
    AdtEventV1,
    AdtEventV2,
    ClaimV1,
    ClaimV2,
    AlertRaisedV1,
    AlertUpdatedV1,
    AlertRetractedV1,
    CareTransitionV1,
    CareTransitionCancelledV1,
    ReadmissionV1,
    GapOpenedV1,
    GapClosedV1,
    GapExcludedV1,
    TaskLifecycleV1,
    LedgerEntryV1,
    PortalMessageSentV1,
    CareTeamReplyV1,
    RiskTierChangedV1,
    NotificationDeadLetteredV1,
)


def _key(cls: type[Event]) -> tuple[str, int]:
    return cls.model_fields["event_type"].default, cls.model_fields["schema_version"].default


MODELS: dict[tuple[str, int], type[Event]] = {_key(c): c for c in EVENT_CLASSES}
# The newest version of each event type: what upcasters lift older payloads to.
LATEST: dict[str, int] = {}
for _t, _v in MODELS:
    LATEST[_t] = max(_v, LATEST.get(_t, 0))


# (event_type, from_version) -> the function lifting a payload to from_version + 1 (shared.codec uses them)
UPCASTERS = {**_ADT_UPCASTERS, ("claim.submitted", 1): upcast_claim_v1_v2}


def model_for(event_type: str, schema_version: int) -> type[Event] | None:
    return MODELS.get((event_type, schema_version))


__all__ = [
    "AdtEventV1", "AdtEventV2", "AttributionSpan", "AlertRaisedV1", "AlertRetractedV1", "AlertUpdatedV1", "CareTransitionCancelledV1",
    "CareTransitionV1", "ClaimLine", "ClaimV1", "ClaimV2", "Clinician", "DERIVED_NAMESPACE", "Diagnosis",
    "EVENT_CLASSES", "EligibilitySpan", "Event", "Evidence", "FieldWarning", "GapClosedV1", "GapExcludedV1",
    "GapOpenedV1", "LATEST", "LedgerEntryV1", "Location", "MODELS", "MemberRosterV1", "Model",
    "MrnXref", "PatientIdentifier", "PatientIdentifierV2", "ReadmissionV1", "SUPPORTED_TRIGGERS",
    "SUPPORTED_TRIGGERS_V2", "UPCASTERS", "TaskLifecycleV1",
    "derive_id", "model_for", "utcnow",
    "CareTeamReplyV1", "PortalMessageSentV1",
    "HccDriver", "RiskTierChangedV1", "TierSpan", "UtilizationFactors",
    "NotificationDeadLetteredV1",
]
