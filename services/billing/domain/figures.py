"""A contract month's figures under a contract version, computed from ``PeriodFacts``.

Member months, fees by tier, cost of care and carve-outs — the same numbers the member-level
postings add up to, obtained from a few hundred aggregate rows instead of every member.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .contract import TIERS, ContractVersion
from .coverage import member_month_share, pmpm_fee_cents
from .facts import PeriodFacts
from .money import round_cents
from .periods import days_in


@dataclass(frozen=True)
class PeriodFigures:
    period: str
    version: ContractVersion
    members_by_tier: dict[str, int]  # head count with at least one eligible day
    member_months_by_tier: dict[str, Fraction]
    fees_by_tier: dict[str, int]
    cost_of_care_cents: int
    carve_outs: dict[str, int]  # category → cents

    @property
    def member_months(self) -> Fraction:
        return sum(self.member_months_by_tier.values(), Fraction(0))

    @property
    def fees_cents(self) -> int:
        return sum(self.fees_by_tier.values())

    @property
    def carve_out_cents(self) -> int:
        return sum(self.carve_outs.values())

    def cost_pmpm_cents(self) -> int | None:
        """Cost of care per member month (half even), None without member months."""
        mm = self.member_months
        return round_cents(Fraction(self.cost_of_care_cents) / mm, self.version.rounding) if mm else None


def period_figures(version: ContractVersion, facts: PeriodFacts | None, period: str) -> PeriodFigures:
    rule = version.member_month_rule
    n = days_in(period)
    members = dict.fromkeys(TIERS, 0)
    mms = {t: Fraction(0) for t in TIERS}
    fees = dict.fromkeys(TIERS, 0)
    cost = 0
    carve: dict[str, int] = {c.category: 0 for c in version.carve_outs}
    if facts is not None:
        fee_of = {t: version.fee_cents(t) for t in TIERS}
        for (tier, runs), count in facts.member_months.items():
            members[tier] += count
            mms[tier] += member_month_share(rule, runs, n) * count
            fees[tier] += pmpm_fee_cents(rule, fee_of[tier], runs, n, version.rounding) * count
        for (code, rev), cents in facts.costs.items():
            category = version.carve_out_category(code, rev)
            if category is None:
                cost += cents
            else:
                carve[category] += cents
    return PeriodFigures(period, version, members, mms, fees, cost, carve)
