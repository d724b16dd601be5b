"""A value-based contract as data: validated, frozen pydantic models.

A contract file holds one contract and its versions. Versions are chosen by effective date:
each starts on the first day of a month and ends on the last day of a month (or stays open),
versions never overlap, and the version in force on a period's first day governs that whole
period. Amounts are dollars in the file (at most two decimal places; quote them, ``"30.00"``,
to keep YAML from reading a float) and cents in every computation (``*_cents`` methods).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shared.events.gaps import MeasureId
from shared.events.roster import RiskTier

from .measure_catalog import MEASURES, METRICS, Direction
from .money import CENT, to_cents
from .periods import first_day, last_day, period_of

TIERS: tuple[RiskTier, ...] = ("low", "moderate", "high", "complex")
BonusKind = Literal["clinical", "quality_outcome", "utilization", "satisfaction"]
QUALITY_KINDS: frozenset[str] = frozenset({"clinical", "quality_outcome"})
MemberMonthRule = Literal["any_day", "prorated"]


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, (int, str)):
        try:
            d = Decimal(str(value).strip().replace(",", "").lstrip("$"))
        except InvalidOperation:
            raise ValueError("expected a number such as 30.00") from None
    elif isinstance(value, float):
        d = Decimal(repr(value))  # YAML read an unquoted number: keep what was written
    else:
        raise ValueError("expected a number")
    if not d.is_finite():
        raise ValueError("expected a finite number")
    return d


def _dollars(value: Any) -> Decimal:
    d = _decimal(value)
    if d < 0:
        raise ValueError("amount must not be negative")
    if d != d.quantize(CENT):
        raise ValueError("amount has fractions of a cent (at most 2 decimal places)")
    return d.quantize(CENT)


def _rate(value: Any) -> Decimal:
    d = _decimal(value)
    if not 0 <= d <= 1:
        raise ValueError("rate must be between 0 and 1 (e.g. 0.5 for 50%)")
    return d


def _number(value: Any) -> Decimal:
    d = _decimal(value)
    if d < 0:
        raise ValueError("target must not be negative")
    return d


Dollars = Annotated[Decimal, BeforeValidator(_dollars)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]
Number = Annotated[Decimal, BeforeValidator(_number)]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class Term(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Goal(Term):
    """A measure (from gap statuses) or a metric, a target and which way is better."""

    measure: MeasureId | None = None
    metric: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)] | None = None
    direction: Direction | None = Field(default=None, description="defaults from the catalog")
    target: Number | None = None

    @model_validator(mode="after")
    def _check_goal(self) -> "Goal":
        if (self.measure is None) == (self.metric is None):
            raise ValueError("give exactly one of 'measure' or 'metric'")
        known = MEASURES.get(self.measure) if self.measure else METRICS.get(self.metric or "")
        if known is None and self.direction is None:
            raise ValueError(f"metric {self.metric!r} is not in the catalog: state its direction (higher or lower)")
        if known is not None and self.direction is not None and self.direction != known.direction:
            raise ValueError(f"{self.subject} is a '{known.direction} is better' goal; direction must be {known.direction!r}")
        if known is not None and known.is_rate:
            for t in self._targets():
                if t > 1:
                    raise ValueError(f"{self.subject} is a rate: targets must be between 0 and 1")
        return self

    def _targets(self) -> list[Decimal]:
        return [self.target] if self.target is not None else []

    @property
    def subject(self) -> str:
        return self.measure or self.metric or ""

    @property
    def better(self) -> Direction:
        if self.direction is not None:
            return self.direction
        known = MEASURES.get(self.measure) if self.measure else METRICS.get(self.metric or "")
        assert known is not None  # guaranteed by validation
        return known.direction

    def reaches(self, value: Fraction | Decimal | None, target: Decimal) -> bool:
        """Is ``value`` at or better than ``target``? No value (no data) never reaches a target."""
        if value is None:
            return False
        v, t = Fraction(value), Fraction(target)
        return v >= t if self.better == "higher" else v <= t


class BonusTier(Term):
    target: Number
    amount: Dollars

    def amount_cents(self) -> int:
        return to_cents(self.amount)


class BonusRule(Goal):
    """A performance bonus: paid when the goal's target is reached.

    Either ``target`` + ``amount`` (one level) or ``tiers`` (several target → amount levels;
    the best level reached pays). ``basis`` says how the amount is paid: ``pmpm`` dollars per
    member month, or ``lump_sum`` dollars for the performance year, accrued 1/12 per month.
    """

    id: Slug
    kind: BonusKind
    description: str | None = Field(default=None, max_length=300)
    basis: Literal["pmpm", "lump_sum"]
    amount: Dollars | None = None
    tiers: tuple[BonusTier, ...] = ()

    @model_validator(mode="after")
    def _check_levels(self) -> "BonusRule":
        if self.tiers and (self.target is not None or self.amount is not None):
            raise ValueError("give either 'target' and 'amount', or 'tiers', not both")
        if not self.tiers and (self.target is None or self.amount is None):
            raise ValueError("a bonus needs 'target' and 'amount' (or 'tiers')")
        targets = [t.target for t in self.tiers]
        if len(set(targets)) != len(targets):
            raise ValueError("two tiers have the same target")
        return self

    def _targets(self) -> list[Decimal]:
        return [t.target for t in self.tiers] if self.tiers else super()._targets()

    def ladder(self) -> tuple[BonusTier, ...]:
        """Levels from the easiest to the hardest to reach."""
        if not self.tiers:
            assert self.target is not None and self.amount is not None
            return (BonusTier(target=self.target, amount=self.amount),)
        return tuple(sorted(self.tiers, key=lambda t: t.target, reverse=self.better == "lower"))


class QualityGate(Term):
    """Shared savings are paid only when the quality standard holds.

    ``none``: no gate. ``all_quality_bonuses_met``: every clinical and quality-outcome bonus of
    the version reaches at least its first level. ``minimums``: every listed goal reaches its target.
    """

    mode: Literal["none", "all_quality_bonuses_met", "minimums"] = "none"
    minimums: tuple[Goal, ...] = ()

    @model_validator(mode="after")
    def _check_gate(self) -> "QualityGate":
        if self.mode == "minimums":
            if not self.minimums:
                raise ValueError("mode 'minimums' needs at least one entry in 'minimums'")
            if any(g.target is None for g in self.minimums):
                raise ValueError("every quality-gate minimum needs a 'target'")
        elif self.minimums:
            raise ValueError("'minimums' is only used with mode 'minimums'")
        return self


class SharedSavings(Term):
    """MSSP-style one-sided shared savings (losses are not shared)."""

    benchmark_pmpm: Dollars
    minimum_savings_rate: Rate = Field(description="savings ÷ benchmark total must reach this")
    sharing_rate: Rate
    cap_rate: Rate = Field(description="shared savings are capped at this share of the benchmark total")
    quality_gate: QualityGate = QualityGate()

    @model_validator(mode="after")
    def _positive_benchmark(self) -> "SharedSavings":
        if self.benchmark_pmpm <= 0:
            raise ValueError("benchmark_pmpm must be greater than zero")
        return self

    def benchmark_cents(self) -> int:
        return to_cents(self.benchmark_pmpm)


def _code_range(value: Any) -> Any:
    if isinstance(value, str):
        low, sep, high = value.partition("-")
        return {"low": low.strip(), "high": (high if sep else low).strip()}
    return value


class CodeRange(Term):
    """Inclusive range of same-shaped codes: ``"33010-33999"``, ``"C1000-C1999"``, ``"0481"``.

    A code matches when it has the same length and the same letter/digit pattern as the bounds
    and sorts between them, so a CPT II code such as ``3301F`` never falls in ``33010-33999``.
    """

    low: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]
    high: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return _code_range(value)

    @model_validator(mode="after")
    def _check_shape(self) -> "CodeRange":
        lo, hi = self.low.upper(), self.high.upper()
        if len(lo) != len(hi):
            raise ValueError("both ends of a code range must have the same length")
        if [c.isdigit() for c in lo] != [c.isdigit() for c in hi]:
            raise ValueError("both ends of a code range must have the same letter/digit pattern")
        if lo > hi:
            raise ValueError("code range starts after it ends")
        return self

    def contains(self, code: str) -> bool:
        lo, hi = self.low.upper(), self.high.upper()
        if len(code) != len(lo) or not lo <= code <= hi:
            return False
        return all(c.isdigit() == l.isdigit() for c, l in zip(code, lo))


class CarveOut(Term):
    """A service category the group holds no risk for: its paid amounts leave cost of care."""

    category: Slug
    description: str | None = Field(default=None, max_length=300)
    procedure_codes: tuple[CodeRange, ...] = Field(default=(), description="CPT / HCPCS ranges")
    revenue_codes: tuple[CodeRange, ...] = Field(default=(), description="UB-04 revenue codes (837I lines)")

    @model_validator(mode="after")
    def _has_codes(self) -> "CarveOut":
        if not self.procedure_codes and not self.revenue_codes:
            raise ValueError("a carve-out needs procedure_codes or revenue_codes")
        return self

    def matches(self, procedure_code: str | None, revenue_code: str | None) -> bool:
        if procedure_code and any(r.contains(procedure_code) for r in self.procedure_codes):
            return True
        return bool(revenue_code) and any(r.contains(revenue_code) for r in self.revenue_codes)  # type: ignore[arg-type]


class PmpmFees(Term):
    """Care-coordination fee per member month, by the member's risk tier (all four tiers)."""

    low: Dollars
    moderate: Dollars
    high: Dollars
    complex: Dollars

    def cents(self, tier: str) -> int:
        return to_cents(getattr(self, tier))


class ContractVersion(Term):
    version: int = Field(ge=1)
    effective_from: date
    effective_to: date | None = Field(default=None, description="inclusive; None = open-ended")
    member_month_rule: MemberMonthRule = Field(
        description="any_day: a month counts when eligibility overlaps it by ≥ 1 day; "
        "prorated: the month counts by the fraction of its days eligible"
    )
    performance_year_start_month: int = Field(default=1, ge=1, le=12)
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
        code = procedure_code.strip().upper() if procedure_code else None
        rev = revenue_code.strip().upper() if revenue_code else None
        for c in self.carve_outs:
            if c.matches(code, rev):
                return c.category
        return None


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
