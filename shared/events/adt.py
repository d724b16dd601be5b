"""adt.events: one canonical event per accepted HL7 v2 ADT message (key: patient identifier)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

from .envelope import Event, Model

Trigger = Literal["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A40"]
SUPPORTED_TRIGGERS: tuple[str, ...] = Trigger.__args__  # type: ignore[attr-defined]


class PatientIdentifier(Model):
    """PID-3 repetition: the id, its assigning authority (CX-4) and type (CX-5, e.g. MR)."""

    id: str = Field(min_length=1, max_length=64)
    assigning_authority: str | None = Field(default=None, max_length=64)
    id_type: str | None = Field(default=None, max_length=16)

    def key(self) -> str:
        return f"{self.assigning_authority or ''}|{self.id}"


class Location(Model):
    """PV1-3 / PV1-6: point of care, room, bed, facility."""

    facility: str | None = Field(default=None, max_length=64)
    point_of_care: str | None = Field(default=None, max_length=64)
    room: str | None = Field(default=None, max_length=32)
    bed: str | None = Field(default=None, max_length=32)


class Clinician(Model):
    """PV1-7 attending doctor (a clinician, not the patient)."""

    id: str | None = Field(default=None, max_length=64)
    family_name: str | None = Field(default=None, max_length=100)
    given_name: str | None = Field(default=None, max_length=100)


class Diagnosis(Model):
    """DG1-3 coded diagnosis (ICD-10-CM), with DG1-6 type (A admitting, W working, F final)."""

    code: str = Field(min_length=1, max_length=16)
    system: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    diagnosis_type: str | None = Field(default=None, max_length=8)


class AdtEventV1(Event):
    """An accepted ADT message in canonical form, with the raw message kept for audit and replay.

    ``occurred_at`` is the event time: EVN-2, else PV1-44 (admit) / PV1-45 (discharge), else MSH-7.
    ``patient_key`` is ``<assigning authority>|<MRN>`` of the first identifier; the admissions
    worker matches it to a member through the roster's MRN crosswalk.
    """

    TOPIC: ClassVar[str] = "adt.events"

    event_type: Literal["adt.message"] = "adt.message"
    schema_version: Literal[1] = 1
    trigger: Trigger
    message_control_id: str = Field(min_length=1, max_length=199)
    sending_application: str | None = Field(default=None, max_length=64)
    sending_facility: str = Field(min_length=1, max_length=64)
    hl7_version: str | None = Field(default=None, max_length=8, description="MSH-12; None for JSON ingest")
    message_time: AwareDatetime | None = None
    patient_ids: tuple[PatientIdentifier, ...] = Field(min_length=1)
    prior_patient_ids: tuple[PatientIdentifier, ...] = Field(default=(), description="MRG-1 (A40 merge)")
    patient_class: str | None = Field(default=None, max_length=4, description="PV1-2")
    location: Location | None = None
    prior_location: Location | None = Field(default=None, description="PV1-6 (A02 transfer)")
    attending: Clinician | None = None
    visit_number: str | None = Field(default=None, max_length=64, description="PV1-19")
    admit_time: AwareDatetime | None = Field(default=None, description="PV1-44")
    discharge_time: AwareDatetime | None = Field(default=None, description="PV1-45")
    discharge_disposition: str | None = Field(default=None, max_length=8, description="PV1-36")
    diagnoses: tuple[Diagnosis, ...] = ()
    raw: str | None = Field(default=None, description="the HL7 message as received (segments joined by CR)")


# --------------------------------------------------------------------------- version 2

TriggerV2 = Literal["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A28", "A31", "A40"]
SUPPORTED_TRIGGERS_V2: tuple[str, ...] = TriggerV2.__args__  # type: ignore[attr-defined]
# Triggers about the person, not a visit: they never open or change an encounter.
PATIENT_LEVEL_TRIGGERS: frozenset[str] = frozenset({"A28", "A31", "A40"})

Precision = Literal["year", "month", "day", "hour", "minute", "second"]
WarningKind = Literal["too_long", "bad_value", "unknown_code", "fallback", "bad_encoding"]
Clearable = Literal["patient_class", "location", "prior_location", "attending", "visit_number", "admit_time",
                    "discharge_time", "discharge_disposition"]


class PatientIdentifierV2(PatientIdentifier):
    """PID-3 repetition; CX-5 kept as received up to 64 characters (``MEDICAL RECORD NUMBER`` is sent)."""

    assigning_authority: str | None = Field(default=None, max_length=227)
    id_type: str | None = Field(default=None, max_length=64)


class FieldWarning(Model):
    """An odd optional field the message was accepted with: where (``PV1-36``), what kind, a text
    naming the rule (never the value)."""

    field: str = Field(min_length=1, max_length=16)
    kind: WarningKind
    text: str = Field(max_length=200)


class AdtEventV2(AdtEventV1):
    """Version 2 of ``adt.message`` (issue 12, real feeds). What changed from version 1:

    - ``warnings``: the odd optional fields the message was accepted with (kept as received or
      left out, see ``services/admissions/README.md``), so they travel with the event;
    - ``cleared``: fields the sender set to HL7's explicit null ``""`` (an update clears them);
    - ``scope``: ``patient`` for events about the person (A28, A31, A40, an A08 without PV1),
      which never open or change an encounter; ``visit`` otherwise;
    - ``*_precision``: how precise each time was (an admission dated to the day is not
      00:00:00), and ``occurred_at_source``: EVN-6, EVN-2, PV1-44, PV1-45 or MSH-7;
    - triggers A28 and A31; wider caps for CX-4/CX-5, PV1-2 and PV1-36 (kept as received).

    Version 1 payloads are upcast (``upcast_v1_v2``) before validation.
    """

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    trigger: TriggerV2  # type: ignore[assignment]
    sending_application: str | None = Field(default=None, max_length=227)
    hl7_version: str | None = Field(default=None, max_length=16, description="MSH-12; None for JSON ingest")
    patient_ids: tuple[PatientIdentifierV2, ...] = Field(min_length=1)  # type: ignore[assignment]
    prior_patient_ids: tuple[PatientIdentifierV2, ...] = Field(default=(), description="MRG-1 (A40 merge)")  # type: ignore[assignment]
    patient_class: str | None = Field(default=None, max_length=64, description="PV1-2, as received")
    discharge_disposition: str | None = Field(default=None, max_length=64, description="PV1-36, as received")
    scope: Literal["visit", "patient"] = "visit"
    occurred_at_precision: Precision = "second"
    occurred_at_source: str | None = Field(default=None, max_length=8, description="EVN-6, EVN-2, PV1-44, PV1-45, MSH-7")
    admit_time_precision: Precision | None = None
    discharge_time_precision: Precision | None = None
    cleared: tuple[Clearable, ...] = Field(default=(), description="fields sent as the explicit null \"\"")
    warnings: tuple[FieldWarning, ...] = ()


def upcast_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """adt.message v1 → v2: nothing was cleared or warned about; A40 concerns the patient;
    times were read as given (their precision was not kept: taken as seconds)."""
    payload["schema_version"] = 2
    payload.setdefault("scope", "patient" if payload.get("trigger") == "A40" else "visit")
    if payload.get("admit_time") is not None:
        payload.setdefault("admit_time_precision", "second")
    if payload.get("discharge_time") is not None:
        payload.setdefault("discharge_time_precision", "second")
    return payload


UPCASTERS = {("adt.message", 1): upcast_v1_v2}


def adt_event_from_stored(payload: dict[str, Any]) -> AdtEventV2:
    """A stored ADT fact (any version) as the latest model."""
    if payload.get("schema_version") == 1:
        payload = upcast_v1_v2(dict(payload))
    return AdtEventV2.model_validate(payload)
