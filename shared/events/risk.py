"""risk.tiers: a member's risk tier changed (compacted, key member_id).

The latest event of a member is the truth: it carries the tier history (every computed tier by
the date it takes effect), so the compacted topic still tells which tier held in a past month.
``old_tier`` -> ``new_tier`` from ``effective_date`` (the contract's rule, e.g. the first day of
the next month), with the HCCs and utilization factors that drove it.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from .. import topics
from .envelope import Event, Model
from .roster import RiskTier


class HccDriver(Model):
    hcc: str = Field(max_length=16)
    label: str = Field(max_length=200)
    coefficient: float
    diagnoses: tuple[str, ...] = Field(default=(), description="ICD-10-CM codes (no dot) that gave the HCC")
    claim_ids: tuple[str, ...] = ()


class UtilizationFactors(Model):
    admissions_12m: int = Field(ge=0)
    ed_visits_12m: int = Field(ge=0)
    readmissions_12m: int = Field(ge=0)
    open_gaps: int = Field(ge=0)


class TierSpan(Model):
    start: date
    tier: RiskTier


class RiskTierChangedV1(Event):
    TOPIC: ClassVar[str] = topics.RISK_TIERS

    event_type: Literal["risk.tier_changed"] = "risk.tier_changed"
    schema_version: Literal[1] = 1
    member_id: str = Field(min_length=1, max_length=64)
    contract_id: str = Field(min_length=1, max_length=64)
    practice_id: str = Field(min_length=1, max_length=64)
    effective_date: date = Field(description="the first day the new tier applies")
    old_tier: RiskTier
    new_tier: RiskTier
    decided_on: date = Field(description="the day the change was decided (scores and windows as of then)")
    model: str = Field(max_length=32, description="e.g. CMS-HCC V28")
    payment_year: int
    risk_score: float | None = Field(default=None, description="raw score; None when the member could not be scored")
    payment_score: float | None = None
    hccs: tuple[HccDriver, ...] = ()
    utilization: UtilizationFactors
    reasons: tuple[str, ...] = Field(default=(), description="the tier rule's criteria that held")
    rule: str = Field(max_length=1000, description="the contract's tier rule in words")
    history: tuple[TierSpan, ...] = Field(default=(), description="computed tiers by effective date, oldest first")

    def tier_on(self, day: date) -> str | None:
        """The computed tier in force on ``day`` (None before the first span)."""
        current = None
        for span in self.history:
            if span.start <= day:
                current = span.tier
        return current
