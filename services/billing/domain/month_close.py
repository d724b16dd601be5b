"""Contract-level accruals (bonus and shared-savings estimates) and closing a month.

``contract_postings`` is pure: the desired contract-level amounts of one contract month from
the aggregated facts. Recompute it for every month from the earliest one whose facts changed
through the latest open month (a late claim for February changes February's cost, hence
February's and every later month's year-to-date savings); the ledger diff posts only what
moved, as adjustments for closed months.

Closing a month: bring its contract-level keys to their desired amounts, then mark it closed.
Member-level amounts (PMPM, cost of care, carve-outs) are posted as their events arrive, so
close only has to settle the estimates.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from .accruals import PostingKey
from .bonuses import BonusEstimate, estimate_bonus
from .contract import Contract
from .facts import PeriodFacts
from .figures import PeriodFigures, period_figures
from .ledger import Ledger, Posting
from .periods import performance_year
from .shared_savings import SavingsEstimate, estimate_shared_savings

SHARED_SAVINGS_RULE = "shared_savings"


def bonus_rule_key(contract_id: str, period: str, rule_id: str) -> PostingKey:
    return PostingKey(contract_id, period, "bonus_estimate", None, f"bonus:{rule_id}")


def shared_savings_key(contract_id: str, period: str) -> PostingKey:
    return PostingKey(contract_id, period, "shared_savings_estimate", None, SHARED_SAVINGS_RULE)


def estimates(
    contract: Contract, period: str, facts_by_period: Mapping[str, PeriodFacts]
) -> tuple[PeriodFigures, list[BonusEstimate], SavingsEstimate | None] | None:
    """The month's figures, bonus estimates and shared-savings estimate (None: no version)."""
    version = contract.version_for(period)
    if version is None:
        return None
    facts = facts_by_period.get(period)
    figures = period_figures(version, facts, period)
    index = len(performance_year(period, version.performance_year_start_month))
    bonuses = [estimate_bonus(rule, facts, figures, index, version.rounding) for rule in version.bonuses]
    return figures, bonuses, estimate_shared_savings(contract, period, facts_by_period)


def contract_postings(
    contract: Contract, period: str, facts_by_period: Mapping[str, PeriodFacts]
) -> dict[PostingKey, int]:
    """Desired contract-level postings (member None) of one contract month."""
    found = estimates(contract, period, facts_by_period)
    if found is None:
        return {}
    _, bonuses, savings = found
    out = {bonus_rule_key(contract.contract_id, period, b.rule.id): b.amount_cents for b in bonuses}
    if savings is not None:
        out[shared_savings_key(contract.contract_id, period)] = savings.month_amount_cents
    return {k: v for k, v in out.items() if v}


def close_month(
    ledger: Ledger,
    contract: Contract,
    period: str,
    facts_by_period: Mapping[str, PeriodFacts],
    source_event_id: uuid.UUID,
) -> list[Posting]:
    """Settle the month's estimates in ``ledger`` and close it; returns the entries posted.

    ``source_event_id`` identifies the close command (derive it from contract and period,
    e.g. ``derive_id("close", "MMO-2026|2026-03")``), so repeating a close posts nothing.
    """
    desired = contract_postings(contract, period, facts_by_period)
    posted = ledger.sync_contract_period(contract.contract_id, period, desired, source_event_id)
    ledger.close(contract.contract_id, period)
    return posted
