"""Goals in a contract: bonus rules with their levels, the shared-savings terms and quality gate."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.events.gaps import MeasureId

from .contract_values import Dollars, Number, Rate, Slug, Term
from .measure_catalog import MEASURES, METRICS, Direction
from .money import to_cents

BonusKind = Literal["clinical", "quality_outcome", "utilization", "satisfaction"]
QUALITY_KINDS: frozenset[str] = frozenset({"clinical", "quality_outcome"})


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
