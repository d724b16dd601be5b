"""claims.events: one claim version (header + lines) per event (key: member_id).

Version 2 adds what a claim says about its own version (``version_sequence``,
``adjudication_date``, ``received_date``, ``submitted_at``): the versions of one claim are
ordered by these and by the correction links (``shared.claim_versions``), never by when a file
was loaded. ``upcast_claim_v1_v2`` lifts a v1 payload: a v1 event did not say when its version
was made (its ``occurred_at`` was the 837's BHT time for X12 but the load time for CSV and
JSON, and the two cannot be told apart), so the lifted event has no stamps and its versions
rank by the correction chain and the frequency code alone.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

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


class ClaimV2(ClaimV1):
    """A claim version with what it says about when it was made (v1 + four optional fields).

    A subclass of ``ClaimV1``: code that reads a claim reads both; the codec lifts v1 payloads."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]
    version_sequence: int | None = Field(
        default=None, ge=0, le=1_000_000,
        description="the sender's version number of this claim (higher is later), where the format has one",
    )
    adjudication_date: date | None = Field(
        default=None, description="when the payer adjudicated this version (X12 2330B / 2430 DTP*573)")
    received_date: date | None = Field(
        default=None, description="when the payer received this version (X12 2300 DTP*050)")
    submitted_at: AwareDatetime | None = Field(
        default=None, description="when the sender created this version (X12 BHT04/BHT05), never the load time")


VERSION_FIELDS = ("version_sequence", "adjudication_date", "received_date", "submitted_at")


def upcast_claim_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """claim.submitted v1 → v2: the version stamps are unknown (None)."""
    for name in VERSION_FIELDS:
        payload.setdefault(name, None)
    payload["schema_version"] = 2
    return payload
