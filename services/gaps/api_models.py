"""Response shapes of the gaps API (OpenAPI documents them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class EvidenceOut(BaseModel):
    code: str
    code_system: str = Field(description="CPT, HCPCS, ICD10CM, LOINC, POS, REV, UB04, ADT")
    date: date
    claim_id: str | None = None
    value: str | None = Field(default=None, description="a result, e.g. 9.4% or 142/88")
    description: str | None = None


class GapOut(BaseModel):
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


class RejectionOut(BaseModel):
    scope: str
    where: str = Field(description="line, segment, ST control number - never a value from the file")
    st_control_number: str | None = None
    segment: int | None = None
    claim_index: int | None = None
    lines: list[int] | None = None
    reason: str
    dead_lettered: bool


class LoadReportOut(BaseModel):
    load_id: str
    kind: Literal["roster", "claims"]
    format: str
    mode: str
    file: str | None = None
    sha256: str | None = None
    status: Literal["running", "done", "rejected", "failed", "duplicate"] = Field(
        description="running; done (read to its end: see accepted / rejected); rejected (refused as a whole, "
                    "nothing loaded: error says why); failed (could not finish: error says why, loading again is "
                    "safe); duplicate (already loaded)")
    started_at: str
    finished_at: str | None = None
    seconds: float | None = None
    accepted: int = Field(description="claims produced (confirmed by Kafka) / valid roster rows")
    rejected: int
    lines: int = Field(description="claim service lines produced")
    changed: int = Field(description="roster: snapshots produced (changed members)")
    unchanged: int
    termed: int
    dead_lettered: int
    rejections: list[RejectionOut]
    rejections_listed: int
    warnings: list[str]
    duplicate_of: str | None = None
    validation: dict[str, Any] | None = None
    ack_999_file: str | None = None
    report_file: str | None = None
    error: str | None = None
    owner: dict[str, Any] | None = Field(default=None, description="host and process running the load")
    deadline: str | None = Field(default=None, description="when its time budget (LOAD_TIME_BUDGET_S) runs out")


class LoadAccepted(BaseModel):
    load_id: str
    status: Literal["running"] = "running"
    status_url: str


class LoadStatusOut(BaseModel):
    load_id: str
    kind: str | None = None
    status: str
    seconds: float | None = None
    error: str | None = None
    progress: dict[str, Any] | None = None
    report: LoadReportOut | None = None
