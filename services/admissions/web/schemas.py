"""Response models of the admissions API (what the OpenAPI document shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class FacilityCensus(BaseModel):
    facility: str
    inpatients: int = Field(description="attributed members with an open inpatient encounter")


class PracticeCensus(BaseModel):
    practice_id: str
    total: int
    facilities: dict[str, int] = Field(description="facility → members in house")


class CensusMember(BaseModel):
    member_id: str
    encounter_key: str
    facility: str
    practice_id: str | None
    hospitalist_group: str | None
    pod: str | None
    patient_class: str | None
    location: dict[str, Any] | None
    since: datetime | None


class Alert(BaseModel):
    alert_id: str
    member_id: str
    kind: str = Field(description="inpatient_admit | ed_visit")
    status: str = Field(description="open | retracted")
    facility: str
    encounter_key: str
    hospitalist_group: str | None
    pod: str | None
    pcp_practice_id: str
    pcp_npi: str | None = None
    program: str | None = None
    contract_id: str | None = None
    patient_class: str | None = None
    trigger: str | None = None
    location: dict[str, Any] | None = None
    attending: dict[str, Any] | None = None
    diagnoses: list[dict[str, Any]] = []
    readmission: bool
    admits_30d: int = 0
    admits_90d: int = 0
    ed_visits_30d: int = 0
    ed_visits_90d: int = 0
    event_time: datetime
    raised_at: datetime
    updated_at: datetime
    retract_reason: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


class Encounter(BaseModel):
    encounter_key: str
    facility: str
    visit_number: str | None
    status: str = Field(description="preadmitted | active | discharged | cancelled | unknown")
    patient_class: str | None
    admit_time: datetime | None
    discharge_time: datetime | None
    discharge_disposition: str | None
    length_of_stay_days: int | None
    location: dict[str, Any] | None
    diagnoses: list[dict[str, Any]]
    last_event_time: datetime


class IngestStatus(BaseModel):
    status: str = Field(description="accepted | duplicate | rejected | error")
    event_id: str | None = None
    detail: str | None = None


class QuirkWarning(BaseModel):
    field: str
    kind: str
    count: int
    text: str | None = None


class QuirkRefusal(BaseModel):
    where: str
    code: str
    count: int
    text: str | None = None


class FeedQuirks(BaseModel):
    """What one sending facility's feed does oddly (counts since the platform started counting)."""

    facility: str
    accepted: int
    refused: int
    duplicates: int
    warnings: list[QuirkWarning]
    refusals: list[QuirkRefusal]
    first_seen: datetime | None = None
    last_seen: datetime | None = None
