"""Performance-bonus estimates for one contract month.

Each month's estimate stands on that month's facts: the measure rate or metric value as of
the month's end (year-to-date performance), against the rule's levels. The best level
reached pays:

- ``pmpm`` basis: the level's dollars × the month's member months (exact, prorated fractions
  included; rounded once by the contract's rounding, half even by default);
- ``lump_sum`` basis: the level's annual dollars accrue 1/12 per month of the performance
  year, by cumulative rounding (month *m* gets ``round(L·m/12) − round(L·(m−1)/12)``), so
  twelve months reaching the same level add up to the lump sum exactly.

No data (an empty denominator, a metric never fed) reaches no level: the estimate is zero and
the statement says "no data". Settlement at period end is outside this estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .contract import BonusRule, Goal
from .facts import PeriodFacts
from .figures import PeriodFigures
from .money import cumulative_share, scale


@dataclass(frozen=True)
class Measured:
    value: Fraction | None
    numerator: int | None = None
    denominator: int | None = None


def measure_goal(goal: Goal, facts: PeriodFacts | None) -> Measured:
    """The current value of the goal's measure or metric in ``facts``."""
    if facts is None:
        return Measured(None)
    if goal.measure is not None:
        r = facts.measures.get(goal.measure)
        return Measured(None) if r is None else Measured(r.rate, r.numerator, r.denominator)
    m = facts.metrics.get(goal.metric or "")
    return Measured(None) if m is None else Measured(m.value, m.numerator, m.denominator)


@dataclass(frozen=True)
class BonusEstimate:
    rule: BonusRule
    measured: Measured
    level: int | None  # index into rule.ladder() of the best level reached
    target: Decimal  # the level reached, else the first level
    unit_amount_cents: int  # the level's PMPM or annual lump sum (0 when not reached)
    amount_cents: int  # this month's estimate

    @property
    def met(self) -> bool:
        return self.level is not None


def estimate_bonus(rule: BonusRule, facts: PeriodFacts | None, figures: PeriodFigures, month_index: int,
                   rounding: str = "half_even") -> BonusEstimate:
    """The month's estimate; ``month_index`` is the month's place (1–12) in the performance year."""
    measured = measure_goal(rule, facts)
    ladder = rule.ladder()
    level = None
    for i, step in enumerate(ladder):
        if rule.reaches(measured.value, step.target):
            level = i
    if level is None:
        return BonusEstimate(rule, measured, None, ladder[0].target, 0, 0)
    unit = ladder[level].amount_cents()
    if rule.basis == "pmpm":
        amount = scale(unit, figures.member_months, rounding)
    else:
        amount = cumulative_share(unit, month_index, 12, rounding) - cumulative_share(unit, month_index - 1, 12, rounding)
    return BonusEstimate(rule, measured, level, ladder[level].target, unit, amount)
