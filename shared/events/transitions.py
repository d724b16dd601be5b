"""care.transitions: discharges with the TCM clock, cancels, readmissions (key: member_id)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from .adt import Diagnosis
from .. import topics
from .envelope import Event


class CareTransitionV1(Event):
    """A discharge (A03). ``tcm_applicable`` is false when no follow-up is owed (expired, 20)."""

    TOPIC: ClassVar[str] = topics.TRANSITIONS

    event_type: Literal["care.transition"] = "care.transition"
    schema_version: Literal[1] = 1
    member_id: str
    transition_id: uuid.UUID
    encounter_key: str
    facility: str
    patient_class: str | None = None
    admit_time: AwareDatetime | None = None
    discharge_time: AwareDatetime
    discharge_disposition: str | None = None
    length_of_stay_days: int | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    tcm_applicable: bool = True
    contact_due: date | None = Field(default=None, description="interactive contact: 2 business days")
    visit_due_high: date | None = Field(default=None, description="face-to-face, high complexity (99496): 7 days")
    visit_due_moderate: date | None = Field(default=None, description="face-to-face, moderate (99495): 14 days")
    readmission: bool = False
    index_stay: bool = Field(default=True, description="counts as an index stay for the readmission rate")
    pcp_practice_id: str
    pod: str | None = None
    contract_id: str


class CareTransitionCancelledV1(Event):
    """A13 cancel discharge: the transition (and its TCM clock) is withdrawn."""

    TOPIC: ClassVar[str] = topics.TRANSITIONS

    event_type: Literal["care.transition_cancelled"] = "care.transition_cancelled"
    schema_version: Literal[1] = 1
    member_id: str
    transition_id: uuid.UUID
    reason: str


class ReadmissionV1(Event):
    """An inpatient admission within 30 days of a prior index discharge of the same member."""

    TOPIC: ClassVar[str] = topics.TRANSITIONS

    event_type: Literal["care.readmission"] = "care.readmission"
    schema_version: Literal[1] = 1
    member_id: str
    readmission_id: uuid.UUID
    index_encounter_key: str
    index_discharge_date: date
    readmit_encounter_key: str
    admit_date: date
    days_since_discharge: int = Field(ge=0, description="admit date minus index discharge date; the window is a setting")
    pcp_practice_id: str
    contract_id: str
    retracted: bool = Field(default=False, description="true when the readmission's admit was cancelled")
