"""A value-based contract as data: validated, frozen pydantic models.

A contract file holds one contract and its versions. Versions are chosen by effective date:
each starts on the first day of a month and ends on the last day of a month (or stays open),
versions never overlap, and the version in force on a period's first day governs that whole
period. Amounts are dollars in the file (at most two decimal places; quote them, ``"30.00"``,
to keep YAML from reading a float) and cents in every computation (``*_cents`` methods).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.events.roster import RiskTier

from .carve_outs import CarveOut, CodeRange
from .contract_goals import QUALITY_KINDS, BonusKind, BonusRule, BonusTier, Goal, QualityGate, SharedSavings
from .contract_values import Dollars, Rate, Slug, Term
from .money import to_cents
from .periods import first_day, last_day, period_of

TIERS: tuple[RiskTier, ...] = ("low", "moderate", "high", "complex")
MemberMonthRule = Literal["any_day", "prorated"]

__all__ = [
    "QUALITY_KINDS", "TIERS", "BonusKind", "BonusRule", "BonusTier", "CarveOut", "CodeRange", "Contract",
    "ContractVersion", "Dollars", "Goal", "MemberMonthRule", "PmpmFees", "QualityGate", "Rate",
    "SharedSavings", "Slug", "Term",
]


class PmpmFees(Term):
    """Care-coordination fee per member month, by the member's risk tier (all four tiers)."""

    low: Dollars
    moderate: Dollars
    high: Dollars
    complex: Dollars

    def cents(self, tier: str) -> int:
        return to_cents(getattr(self, tier))


_UNKNOWN = object()
_MEMO_LIMIT = 50_000
# carve-out tuple (kept alive here, so its id is never reused) → (procedure, revenue) → category:
# every paid line asks, and a batch's lines repeat a few thousand codes
_CATEGORY_MEMOS: dict[int, tuple[tuple, dict[tuple[str | None, str | None], str | None]]] = {}


def _category_memo(carve_outs: tuple) -> dict[tuple[str | None, str | None], str | None]:
    entry = _CATEGORY_MEMOS.get(id(carve_outs))
    if entry is None or entry[0] is not carve_outs:
        if len(_CATEGORY_MEMOS) >= 256:  # contracts reloaded many times over: start afresh
            _CATEGORY_MEMOS.clear()
        entry = (carve_outs, {})
        _CATEGORY_MEMOS[id(carve_outs)] = entry
    return entry[1]


class ContractVersion(Term):
    version: int = Field(ge=1)
    effective_from: date
    effective_to: date | None = Field(default=None, description="inclusive; None = open-ended")
    member_month_rule: MemberMonthRule = Field(
        description="any_day: a month counts when eligibility overlaps it by ≥ 1 day; "
        "prorated: the month counts by the fraction of its days eligible"
    )
    performance_year_start_month: int = Field(default=1, ge=1, le=12)
    rounding: Literal["half_even", "half_up"] = Field(
        default="half_even",
        description="how each posted amount is rounded to the cent, once, from its exact value: half_even "
        "(0.5 cent to the even cent) or half_up (0.5 cent away from zero)",
    )
    pmpm_fees: PmpmFees | None = None
    bonuses: tuple[BonusRule, ...] = ()
    shared_savings: SharedSavings | None = None
    carve_outs: tuple[CarveOut, ...] = ()
    notes: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _check_version(self) -> "ContractVersion":
        if self.effective_from.day != 1:
            raise ValueError("effective_from must be the first day of a month (versions govern whole months)")
        if self.effective_to is not None:
            if self.effective_to != last_day(period_of(self.effective_to)):
                raise ValueError("effective_to must be the last day of a month")
            if self.effective_to < self.effective_from:
                raise ValueError("effective_to is before effective_from")
        ids = [b.id for b in self.bonuses]
        if len(set(ids)) != len(ids):
            raise ValueError("two bonus rules share an id")
        cats = [c.category for c in self.carve_outs]
        if len(set(cats)) != len(cats):
            raise ValueError("two carve-outs share a category")
        gate = self.shared_savings.quality_gate if self.shared_savings else None
        if gate is not None and gate.mode == "all_quality_bonuses_met" and not self.quality_bonuses():
            raise ValueError("quality gate 'all_quality_bonuses_met' needs at least one clinical or quality_outcome bonus")
        return self

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def quality_bonuses(self) -> tuple[BonusRule, ...]:
        return tuple(b for b in self.bonuses if b.kind in QUALITY_KINDS)

    def fee_cents(self, tier: str) -> int:
        return self.pmpm_fees.cents(tier) if self.pmpm_fees is not None else 0

    def carve_out_category(self, procedure_code: str | None, revenue_code: str | None) -> str | None:
        """The first carve-out the line falls in, or None (the line is in cost of care)."""
        memo = _category_memo(self.carve_outs)
        key = (procedure_code, revenue_code)
        found = memo.get(key, _UNKNOWN)
        if found is not _UNKNOWN:
            return found  # type: ignore[return-value]
        code = procedure_code.strip().upper() if procedure_code else None
        rev = revenue_code.strip().upper() if revenue_code else None
        found = next((c.category for c in self.carve_outs if c.matches(code, rev)), None)
        if len(memo) < _MEMO_LIMIT:
            memo[key] = found
        return found


class Contract(Term):
    contract_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    payer: str = Field(min_length=1, max_length=200)
    payer_id: str | None = Field(default=None, max_length=64, description="as on claims (payer_id)")
    name: str = Field(min_length=1, max_length=200)
    versions: tuple[ContractVersion, ...]

    @model_validator(mode="after")
    def _check_versions(self) -> "Contract":
        if not self.versions:
            raise ValueError("a contract needs at least one version")
        numbers = [v.version for v in self.versions]
        if len(set(numbers)) != len(numbers):
            raise ValueError("two versions share a version number")
        ordered = sorted(self.versions, key=lambda v: v.effective_from)
        for a, b in zip(ordered, ordered[1:]):
            if a.effective_to is None or a.effective_to >= b.effective_from:
                raise ValueError(f"version {a.version} overlaps version {b.version}")
        return self

    def version_on(self, day: date) -> ContractVersion | None:
        """The version in force on ``day`` (None when no version covers it)."""
        for v in self.versions:
            if v.covers(day):
                return v
        return None

    def version_for(self, period: str) -> ContractVersion | None:
        """The version governing a period: the one in force on its first day."""
        return self.version_on(first_day(period))

    def first_period(self) -> str:
        return period_of(min(v.effective_from for v in self.versions))

    def last_period(self) -> str | None:
        """The term's last month (None: the latest version is open-ended)."""
        ends = [v.effective_to for v in self.versions]
        return None if any(e is None for e in ends) else period_of(max(e for e in ends if e is not None))

    def in_term(self, period: str) -> bool:
        """Whether ``period`` is within the contract's term: from its first version's start
        through its last version's end. A month inside the term with no version in force (a gap
        between versions) is *unpriced*; a month outside the term is simply not this contract's."""
        last = self.last_period()
        return self.first_period() <= period and (last is None or period <= last)
