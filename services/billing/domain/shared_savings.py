"""Shared-savings estimate, year to date, with every term shown.

For the performance year through period P (months Y1..P), exact (``Fraction``) throughout:

    member_months   = Σ member months (prorated: eligible days ÷ days in the month, exactly)
    benchmark       = Σ_month benchmark PMPM × member months
    actual          = Σ cost of care (paid claims net of carve-outs)          (cents)
    savings         = benchmark − actual
                    = (benchmark PMPM − actual PMPM) × member months
    savings_rate    = savings ÷ benchmark
    msr_met         = savings > 0 and savings_rate ≥ minimum savings rate
    gate_met        = the quality gate holds on P's measures
    shared_before_cap = savings × sharing rate if msr_met and gate_met else 0
    cap             = cap rate × benchmark
    shared_ytd      = round(min(shared_before_cap, cap))     ← the one rounding

Rounded once, by the version's rounding (half even unless the contract says ``half_up``): the
year-to-date share. The shown terms (benchmark total, savings, cap, ...) are each the exact
value rounded for display; none of them feeds another rounded. The month's posting is
``shared_ytd(P) − shared_ytd(P−1)`` (zero before the year's first month), so the postings
through any month add up to that month's year-to-date estimate; a later month may post a
negative amount when the estimate falls. Losses are not shared (one-sided model). The terms
(MSR, sharing, cap, gate) are the version in force in P; each month's benchmark PMPM is its own
version's (P's when that version has no shared savings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from .bonuses import Measured, measure_goal
from .contract import Contract, ContractVersion
from .facts import PeriodFacts
from .figures import PeriodFigures, period_figures
from .money import round_cents
from .periods import performance_year


@dataclass(frozen=True)
class GateCheck:
    subject: str  # measure or metric (or bonus rule id for all_quality_bonuses_met)
    measured: Measured
    target: Decimal
    direction: str
    met: bool


@dataclass(frozen=True)
class SavingsEstimate:
    months: tuple[str, ...]
    member_months: Fraction
    benchmark_pmpm_cents: int  # the in-force version's benchmark PMPM
    benchmark_total_cents: int
    actual_total_cents: int
    actual_pmpm_cents: int | None
    savings_cents: int
    savings_rate: Fraction | None
    minimum_savings_rate: Decimal
    msr_met: bool
    quality_gate: str
    quality_gate_met: bool
    quality_gate_checks: tuple[GateCheck, ...]
    sharing_rate: Decimal
    shared_before_cap_cents: int
    cap_rate: Decimal
    cap_cents: int
    capped: bool
    shared_ytd_cents: int
    prior_ytd_cents: int
    # the exact values the rounded ones come from (for ``explain``)
    benchmark_exact: Fraction = Fraction(0)
    savings_exact: Fraction = Fraction(0)
    shared_exact: Fraction = Fraction(0)
    rounding: str = "half_even"

    @property
    def month_amount_cents(self) -> int:
        return self.shared_ytd_cents - self.prior_ytd_cents


def quality_gate(version: ContractVersion, facts: PeriodFacts | None) -> tuple[bool, tuple[GateCheck, ...]]:
    terms = version.shared_savings
    if terms is None or terms.quality_gate.mode == "none":
        return True, ()
    checks: list[GateCheck] = []
    if terms.quality_gate.mode == "minimums":
        for g in terms.quality_gate.minimums:
            assert g.target is not None
            m = measure_goal(g, facts)
            checks.append(GateCheck(g.subject, m, g.target, g.better, g.reaches(m.value, g.target)))
    else:
        for rule in version.quality_bonuses():
            first = rule.ladder()[0].target
            m = measure_goal(rule, facts)
            checks.append(GateCheck(rule.id, m, first, rule.better, rule.reaches(m.value, first)))
    return all(c.met for c in checks), tuple(checks)


def _ytd(
    version: ContractVersion,
    months: list[str],
    figures: Mapping[str, PeriodFigures],
    facts: PeriodFacts | None,
) -> SavingsEstimate:
    terms = version.shared_savings
    assert terms is not None
    mode = version.rounding
    mm = Fraction(0)
    bench = Fraction(0)
    actual = 0
    for p in months:
        f = figures[p]
        own = f.version.shared_savings or terms
        mm += f.member_months
        bench += own.benchmark_cents() * f.member_months
        actual += f.cost_of_care_cents
    savings = bench - actual
    rate = savings / bench if bench else None
    msr_met = savings > 0 and rate is not None and rate >= Fraction(terms.minimum_savings_rate)
    gate_met, checks = quality_gate(version, facts)
    before_cap = savings * Fraction(terms.sharing_rate) if msr_met and gate_met else Fraction(0)
    cap = bench * Fraction(terms.cap_rate)
    shared = round_cents(min(before_cap, cap), mode)
    return SavingsEstimate(
        months=tuple(months), member_months=mm, benchmark_pmpm_cents=terms.benchmark_cents(),
        benchmark_total_cents=round_cents(bench, mode), actual_total_cents=actual,
        actual_pmpm_cents=round_cents(Fraction(actual) / mm, mode) if mm else None,
        savings_cents=round_cents(savings, mode), savings_rate=rate, minimum_savings_rate=terms.minimum_savings_rate,
        msr_met=msr_met, quality_gate=terms.quality_gate.mode, quality_gate_met=gate_met,
        quality_gate_checks=checks, sharing_rate=terms.sharing_rate,
        shared_before_cap_cents=round_cents(before_cap, mode), cap_rate=terms.cap_rate,
        cap_cents=round_cents(cap, mode), capped=before_cap > cap, shared_ytd_cents=shared, prior_ytd_cents=0,
        benchmark_exact=bench, savings_exact=savings, shared_exact=min(before_cap, cap), rounding=mode,
    )


def estimate_shared_savings(
    contract: Contract, period: str, facts_by_period: Mapping[str, PeriodFacts]
) -> SavingsEstimate | None:
    """The year-to-date estimate through ``period`` and the month's increment (None when the
    version in force has no shared-savings terms)."""
    version = contract.version_for(period)
    if version is None or version.shared_savings is None:
        return None
    months = performance_year(period, version.performance_year_start_month)
    figures: dict[str, PeriodFigures] = {}
    for p in months:
        v = contract.version_for(p) or version
        figures[p] = period_figures(v, facts_by_period.get(p), p)
    current = _ytd(version, months, figures, facts_by_period.get(period))
    prior = 0
    if len(months) > 1:
        prev = months[-2]
        prev_version = contract.version_for(prev)
        if prev_version is not None and prev_version.shared_savings is not None:
            prior = _ytd(prev_version, months[:-1], figures, facts_by_period.get(prev)).shared_ytd_cents
    return replace(current, prior_ytd_cents=prior)
