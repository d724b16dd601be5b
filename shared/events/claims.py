"""claims.events: one claim version (header + lines) per event (key: member_id)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from .envelope import Event, Model

FrequencyCode = Literal["1", "7", "8"]  # 1 original, 7 replacement of prior claim, 8 void


class ClaimLine(Model):
    line_number: int = Field(ge=1)
    procedure_code: str | None = Field(
        default=None, min_length=1, max_length=16,
        description="CPT / HCPCS / CPT II; None on institutional lines billed by revenue code only",
    )
    modifiers: tuple[str, ...] = ()
    revenue_code: str | None = Field(default=None, max_length=8, description="837I SV2-1")
    service_date: date
    service_date_end: date | None = None
    units: Decimal = Decimal("1")
    charge_amount: Decimal = Decimal("0")
    allowed_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    place_of_service: str | None = Field(default=None, max_length=4)
    diagnosis_pointers: tuple[int, ...] = ()
    rendering_npi: str | None = Field(default=None, max_length=10)


class ClaimV1(Event):
    """A claim as submitted. ``frequency_code`` 7 replaces and 8 voids the claim named by
    ``original_claim_id`` (REF*F8), or by ``claim_id`` when the sender reuses it."""

    TOPIC: ClassVar[str] = "claims.events"

    event_type: Literal["claim.submitted"] = "claim.submitted"
    schema_version: Literal[1] = 1
    member_id: str = Field(min_length=1, max_length=64)
    claim_id: str = Field(min_length=1, max_length=64)
    frequency_code: FrequencyCode = "1"
    original_claim_id: str | None = Field(default=None, max_length=64)
    claim_type: Literal["professional", "institutional"]
    payer_id: str | None = Field(default=None, max_length=64)
    billing_npi: str | None = Field(default=None, max_length=10)
    rendering_npi: str | None = Field(default=None, max_length=10)
    attending_npi: str | None = Field(default=None, max_length=10)
    place_of_service: str | None = Field(default=None, max_length=4, description="837P CLM05-1")
    type_of_bill: str | None = Field(default=None, max_length=4, description="837I CLM05-1 + CLM05-3, e.g. 111")
    admission_date: date | None = None
    discharge_date: date | None = None
    discharge_status: str | None = Field(default=None, max_length=4, description="837I CL1-3 patient status")
    statement_from: date | None = None
    statement_to: date | None = None
    diagnoses: tuple[str, ...] = Field(default=(), description="ICD-10-CM, principal first, no dot")
    lines: tuple[ClaimLine, ...] = ()
    total_charge: Decimal = Decimal("0")
    paid_amount: Decimal | None = None
    source_file: str | None = Field(default=None, max_length=255)
