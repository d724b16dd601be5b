"""gaps.events: a member's care-gap status changed for one measure (key: member_id)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from .. import topics
from .envelope import Event, Model

MeasureId = Literal["CMS130", "CMS125", "CMS122", "CMS165", "FUP"]


class Evidence(Model):
    """What closed (or keeps open) a gap, or why a task exists: a code on a date, from a claim or
    a transition. The platform's one evidence type: gaps.events carry it, outreach tasks keep it,
    the APIs answer with it; ``describe()`` is its one wording for people."""

    code: str = Field(max_length=32)
    code_system: str = Field(
        max_length=16,
        description="CPT, HCPCS, ICD10CM, LOINC, ADT; POS (place of service), REV (revenue code), DISCH (discharge status)",
    )
    date: date
    claim_id: str | None = Field(default=None, max_length=64)
    value: str | None = Field(default=None, max_length=64, description="e.g. 9.4% or 142/88")
    description: str | None = Field(default=None, max_length=200)

    def describe(self, *, claim: bool = True) -> str:
        """"CPT 45378 on 2026-04-10 (9.4%), claim CLM-0001": what a nurse can check."""
        text = f"{self.code_system} {self.code} on {self.date.isoformat()}"
        if self.value:
            text += f" ({self.value})"
        if claim and self.claim_id:
            text += f", claim {self.claim_id}"
        return text


class _GapEvent(Event):
    TOPIC: ClassVar[str] = topics.GAPS

    member_id: str
    gap_key: str = Field(description="member | measure | period [| instance]: one gap's identity")
    measure_id: MeasureId
    measure_version: str
    period_start: date
    period_end: date
    instance_id: str | None = Field(default=None, description="FUP: the discharge the gap is about")
    reason: str = Field(max_length=500, description="why, in words a nurse can use")
    evidence: tuple[Evidence, ...] = ()
    due_date: date | None = None
    practice_id: str
    contract_id: str


class GapOpenedV1(_GapEvent):
    event_type: Literal["gap.opened"] = "gap.opened"
    schema_version: Literal[1] = 1
    status: Literal["open"] = "open"


class GapClosedV1(_GapEvent):
    event_type: Literal["gap.closed"] = "gap.closed"
    schema_version: Literal[1] = 1
    status: Literal["closed", "due_soon"] = "closed"
    lapses_on: date | None = Field(default=None, description="when the evidence stops counting")


class GapExcludedV1(_GapEvent):
    """The member left the denominator (not applicable) or met an exclusion."""

    event_type: Literal["gap.excluded"] = "gap.excluded"
    schema_version: Literal[1] = 1
    status: Literal["excluded", "not_applicable"] = "excluded"
