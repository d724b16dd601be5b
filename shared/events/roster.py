"""members.roster: the full current state of one attributed member (compacted, key member_id)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .. import topics
from .envelope import Event, Model

Sex = Literal["F", "M", "U"]
RiskTier = Literal["low", "moderate", "high", "complex"]


class MrnXref(Model):
    """One hospital's identifier for the member (the crosswalk that matches ADT PID-3)."""

    mrn: str = Field(min_length=1, max_length=64)
    assigning_authority: str = Field(min_length=1, max_length=64)


class EligibilitySpan(Model):
    start: date
    end: date | None = Field(default=None, description="inclusive last day; None = open")

    @model_validator(mode="after")
    def _ordered(self) -> "EligibilitySpan":
        if self.end is not None and self.end < self.start:
            raise ValueError("eligibility end is before its start")
        return self

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class AttributionSpan(Model):
    """One stretch of attribution: from ``start`` the member was under this contract, tier and
    practice (until ``end``, inclusive, or the next span). Snapshots carry the whole history so
    the compacted roster topic still replays past tier and contract changes."""

    start: date
    end: date | None = None
    contract_id: str = Field(min_length=1, max_length=64)
    risk_tier: RiskTier
    pcp_practice_id: str = Field(min_length=1, max_length=64)


class MemberRosterV1(Event):
    """Snapshot of a member's attribution. The latest one per member is the truth.

    ``status`` is ``termed`` when the member left the roster (eligibility closed), never deleted.
    """

    TOPIC: ClassVar[str] = topics.ROSTER

    event_type: Literal["roster.member"] = "roster.member"
    schema_version: Literal[1] = 1
    member_id: str = Field(min_length=1, max_length=64)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    birth_date: date
    sex: Sex
    mrns: tuple[MrnXref, ...] = ()
    pcp_practice_id: str = Field(min_length=1, max_length=64)
    pcp_npi: str | None = Field(default=None, pattern=r"^\d{10}$")
    hospitalist_group: str | None = Field(default=None, max_length=64)
    pod: str | None = Field(default=None, max_length=64, description="nurse pod / care team")
    contract_id: str = Field(min_length=1, max_length=64)
    program: str | None = Field(default=None, max_length=64)
    risk_tier: RiskTier = "low"
    eligibility: tuple[EligibilitySpan, ...] = ()
    status: Literal["active", "termed"] = "active"
    attribution: tuple[AttributionSpan, ...] = Field(
        default=(),
        description="history of (contract, tier, practice) by effective date, oldest first; "
                    "empty means the current values hold for the whole eligibility",
    )
    roster_load_id: str | None = Field(default=None, max_length=64, description="file load / API batch")

    def eligible_on(self, day: date) -> bool:
        return any(span.covers(day) for span in self.eligibility)
