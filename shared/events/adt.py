"""adt.events: one canonical event per accepted HL7 v2 ADT message (key: patient identifier)."""

from __future__ import annotations

from typing import ClassVar, Literal

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
