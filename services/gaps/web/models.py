"""Response shapes of the gaps API (OpenAPI documents them).

``EvidenceOut`` is the one view of a gap's evidence (``domain.EvidenceItem``; the events carry
``shared.events.Evidence``), built from the domain item by its attributes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    code_system: str = Field(description="CPT, HCPCS, ICD10CM, LOINC, POS, REV, UB04, ADT")
    date: date
    claim_id: str | None = None
    value: str | None = Field(default=None, description="a result, e.g. 9.4% or 142/88")
    description: str | None = None


class GapOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    measure_id: str
    measure_version: str
    period_start: date
    period_end: date
    instance_id: str | None = Field(default=None, description="FUP: the discharge date the gap is about")
    status: Literal["not_applicable", "excluded", "open", "closed", "due_soon"]
    reason: str = Field(description="why, in words a nurse can use")
    evidence: list[EvidenceOut] = []
    due_date: date | None = Field(default=None, description="FUP: the last day a follow-up visit counts")
    lapses_on: date | None = Field(default=None, description="closed gaps: the last day the evidence counts")
    practice_id: str
    contract_id: str
    updated_at: datetime


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    member_id: str
    status: Literal["active", "termed"]
    pcp_practice_id: str
    contract_id: str
    pod: str | None = None


class MemberGapsOut(BaseModel):
    member: MemberOut
    period_start: date
    period_end: date
    gaps: list[GapOut]


class RateOut(BaseModel):
    measure_id: str
    practice_id: str | None = None
    contract_id: str | None = None
    denominator: int = Field(description="members (FUP: discharges) in the eligible population")
    exclusions: int
    numerator: int = Field(description="closed gaps; for an inverse measure (CMS122) the open ones (poor control)")
    rate: float | None = Field(description="numerator / (denominator - exclusions); null when nobody is eligible")
    inverse: bool = Field(description="lower is better (CMS122)")
    open_gaps: int
    closed_gaps: int = Field(description="closed or due soon")
    due_soon: int
    not_applicable: int


class RatesOut(BaseModel):
    period_start: date
    period_end: date
    group_by: list[str]
    rates: list[RateOut]
