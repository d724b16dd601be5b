"""The persisted state of one member (or one unmatched patient), as plain dataclasses.

- ``facts``: the ADT events applied (raw message dropped): encounters, stays and
  readmissions are rebuilt from them on every change, so arrival order never matters.
- ``applied``: every cause already applied (ADT event ids, roster event ids, including facts
  that later moved to another record by a merge): a redelivery is recognised and ignored.
- ``emitted``: what has been published for each derived entity (alert, transition,
  readmission), with a digest of its content, so a change yields an update and a
  disappearance a retraction — and nothing is published twice.

``state_to_dict`` / ``state_from_dict`` give a JSON-able form for storage.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from shared.events import AdtEventV2
from shared.events.adt import adt_event_from_stored

ALERT, TRANSITION, READMISSION = "alert", "transition", "readmission"
UNMATCHED_PREFIX = "patient:"


@dataclass(frozen=True)
class Emitted:
    kind: str  # alert | transition | readmission
    entity_id: uuid.UUID
    encounter_key: str
    digest: str
    active: bool  # False once retracted / cancelled
    payload: dict[str, Any] = field(default_factory=dict)  # last published body (JSON form)


@dataclass
class PatientState:
    owner: str  # member id, or "patient:<authority>|<mrn>" while unmatched
    member_id: str | None = None
    facts: dict[str, AdtEventV2] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)
    emitted: dict[str, Emitted] = field(default_factory=dict)

    @classmethod
    def for_member(cls, member_id: str) -> "PatientState":
        return cls(owner=member_id, member_id=member_id)

    @classmethod
    def for_patient(cls, patient_key: str) -> "PatientState":
        """The record of a patient no roster member matches yet (keyed by ``AdtEventV2.patient_key``)."""
        return cls(owner=UNMATCHED_PREFIX + patient_key)

    @property
    def matched(self) -> bool:
        return self.member_id is not None

    def copy(self) -> "PatientState":
        return replace(self, facts=dict(self.facts), applied=set(self.applied), emitted=dict(self.emitted))


def state_to_dict(state: PatientState) -> dict[str, Any]:
    return {
        "owner": state.owner,
        "member_id": state.member_id,
        "facts": [e.model_dump(mode="json") for e in state.facts.values()],
        "applied": sorted(state.applied),
        "emitted": [
            {"kind": r.kind, "entity_id": str(r.entity_id), "encounter_key": r.encounter_key, "digest": r.digest,
             "active": r.active, "payload": r.payload}
            for r in state.emitted.values()
        ],
    }


def state_from_dict(data: dict[str, Any]) -> PatientState:
    facts = [adt_event_from_stored(f) for f in data.get("facts", ())]  # version 1 facts are upcast
    emitted = [Emitted(r["kind"], uuid.UUID(r["entity_id"]), r["encounter_key"], r["digest"], r["active"],
                       r.get("payload", {})) for r in data.get("emitted", ())]
    return PatientState(
        owner=data["owner"], member_id=data.get("member_id"),
        facts={str(f.event_id): f for f in facts}, applied=set(data.get("applied", ())),
        emitted={str(r.entity_id): r for r in emitted},
    )
