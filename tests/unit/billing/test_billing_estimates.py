"""Bonus and shared-savings estimates, with hand-computed figures; closing a month."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from billing_factories import eid, examples, small_contract
from services.billing.domain import (
    ContractBook, Ledger, MeasureRate, MetricValue, PeriodFacts, bonus_rule_key, close_month, contract_postings,
    estimate_shared_savings, estimates, shared_savings_key,
)

FULL = ((1, 31),)
SAVINGS = {
    "benchmark_pmpm": "1000.00", "minimum_savings_rate": "0.02", "sharing_rate": "0.50", "cap_rate": "0.10",
    "quality_gate": {"mode": "minimums", "minimums": [{"measure": "CMS165", "target": "0.60"}]},
}


def facts(period="2026-01", members=100, cost_cents=0, measures=None, metrics=None, contract="T-2026", runs=FULL):
    return PeriodFacts(contract, period, {("high", runs): members}, {("99213", None): cost_cents} if cost_cents else {},
                       measures or {}, metrics or {})


def savings(cost_cents, cms165=(60, 100), **terms):
    contract = small_contract(shared_savings={**SAVINGS, **terms})
    return estimate_shared_savings(contract, "2026-01", {"2026-01": facts(cost_cents=cost_cents, measures={"CMS165": MeasureRate(*cms165)})})


def test_savings_just_below_the_msr_are_not_shared():
    s = savings(9_800_100)  # benchmark 100 mm × $1,000 = $100,000.00; actual $98,001.00
    assert (s.benchmark_total_cents, s.actual_total_cents, s.savings_cents) == (10_000_000, 9_800_100, 199_900)
    assert s.savings_rate == Fraction(1999, 100_000) and not s.msr_met
    assert s.shared_ytd_cents == 0


def test_savings_at_and_just_above_the_msr_are_shared():
    at_msr = savings(9_800_000)  # savings $2,000.00 = exactly 2% of the benchmark
    assert at_msr.msr_met and at_msr.quality_gate_met
    assert at_msr.shared_before_cap_cents == 100_000 and at_msr.shared_ytd_cents == 100_000  # × 50%
    above = savings(9_799_999)  # savings $2,000.01 × 50% = $1,000.005 → half even → $1,000.00
    assert above.savings_cents == 200_001 and above.shared_ytd_cents == 100_000
    assert above.actual_pmpm_cents == 98_000 and above.benchmark_pmpm_cents == 100_000


def test_a_failed_quality_gate_shares_nothing_and_says_why():
    s = savings(9_000_000, cms165=(59, 100))
    assert s.msr_met and not s.quality_gate_met and s.shared_ytd_cents == 0
    (check,) = s.quality_gate_checks
    assert (check.subject, check.measured.value, str(check.target), check.met) == ("CMS165", Fraction(59, 100), "0.60", False)
    assert not savings(9_000_000, cms165=(0, 0)).quality_gate_met  # no data never passes a gate


def test_the_cap_limits_shared_savings_to_a_share_of_the_benchmark():
    s = savings(7_000_000)  # savings $30,000 × 50% = $15,000 > cap 10% × $100,000 = $10,000
    assert (s.shared_before_cap_cents, s.cap_cents, s.shared_ytd_cents, s.capped) == (1_500_000, 1_000_000, 1_000_000, True)


def test_losses_are_not_shared():
    s = savings(11_000_000)
    assert s.savings_cents == -1_000_000 and not s.msr_met and s.shared_ytd_cents == 0


def test_monthly_postings_add_up_to_the_year_to_date_estimate():
    contract = small_contract(shared_savings=SAVINGS)
    gate = {"CMS165": MeasureRate(70, 100)}
    by_period = {"2026-01": facts("2026-01", cost_cents=9_000_000, measures=gate),
                 "2026-02": facts("2026-02", cost_cents=10_800_000, measures=gate, runs=((1, 28),))}
    jan = estimate_shared_savings(contract, "2026-01", by_period)
    feb = estimate_shared_savings(contract, "2026-02", by_period)
    assert jan.month_amount_cents == 500_000  # $10,000 saved × 50%
    # YTD: 200 mm, benchmark $200,000, actual $198,000, savings $2,000 = 1% < 2%: nothing shared
    assert (feb.member_months, feb.savings_cents, feb.msr_met, feb.shared_ytd_cents) == (200, 200_000, False, 0)
    assert feb.prior_ytd_cents == 500_000 and feb.month_amount_cents == -500_000
    assert contract_postings(contract, "2026-02", by_period) == {shared_savings_key("T-2026", "2026-02"): -500_000}


def test_gate_on_all_quality_bonuses():
    contract = small_contract(
        bonuses=[{"id": "col", "kind": "clinical", "measure": "CMS130", "basis": "pmpm", "target": "0.6", "amount": "1.00"}],
        shared_savings={**SAVINGS, "quality_gate": {"mode": "all_quality_bonuses_met"}},
    )
    low = {"2026-01": facts(cost_cents=9_000_000, measures={"CMS130": MeasureRate(50, 100)})}
    high = {"2026-01": facts(cost_cents=9_000_000, measures={"CMS130": MeasureRate(60, 100)})}
    assert not estimate_shared_savings(contract, "2026-01", low).quality_gate_met
    assert estimate_shared_savings(contract, "2026-01", high).shared_ytd_cents == 500_000


MMO = "MMO-2026"


def mmo_bonuses(measures=None, metrics=None, period="2026-03", members=1000):
    mmo = examples().get(MMO)
    f = {period: facts(period, members=members, measures=measures or {}, metrics=metrics or {}, contract=MMO)}
    _, bonuses, _ = estimates(mmo, period, f)
    return {b.rule.id: b for b in bonuses}


@pytest.mark.parametrize("closed,expected_cents", [(59, 0), (60, 50_000), (69, 50_000), (70, 100_000), (95, 100_000)])
def test_tiered_pmpm_bonus_pays_the_best_level_reached(closed, expected_cents):
    b = mmo_bonuses({"CMS130": MeasureRate(closed, 100)})["colorectal-screening"]
    assert b.amount_cents == expected_cents  # 1,000 member months × $0.50 or $1.00


def test_inverse_measure_is_met_at_or_below_its_target():
    assert mmo_bonuses({"CMS122": MeasureRate(20, 100)})["diabetes-control"].amount_cents == 75_000
    assert mmo_bonuses({"CMS122": MeasureRate(21, 100)})["diabetes-control"].amount_cents == 0


def test_lump_sum_bonuses_accrue_a_twelfth_per_month():
    b = mmo_bonuses(metrics={"readmission_rate": MetricValue.ratio(3, 40), "median_days_to_appointment": MetricValue.of("7")})
    assert b["low-readmissions"].level == 1 and b["low-readmissions"].amount_cents == 300_000  # $36,000 / 12
    assert b["reasonable-wait-times"].amount_cents == 100_000  # $12,000 / 12
    slow = mmo_bonuses(metrics={"median_days_to_appointment": MetricValue.of("7.5")})
    assert slow["reasonable-wait-times"].amount_cents == 0
    assert slow["low-readmissions"].amount_cents == 0 and slow["low-readmissions"].measured.value is None


def test_an_odd_lump_sum_spreads_over_twelve_months_to_the_cent():
    contract = small_contract(bonuses=[{"id": "wait", "kind": "satisfaction", "metric": "median_days_to_appointment",
                                        "basis": "lump_sum", "target": "7", "amount": "10000.01"}])
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    by_period = {p: facts(p, metrics={"median_days_to_appointment": MetricValue.of(5)}) for p in months}
    monthly = [contract_postings(contract, p, by_period)[bonus_rule_key("T-2026", p, "wait")] for p in months]
    assert sum(monthly) == 1_000_001 and set(monthly) == {83_333, 83_334}


def test_closing_a_month_settles_its_estimates_and_later_changes_become_adjustments():
    mmo = examples().get(MMO)
    by_period = {"2026-03": facts("2026-03", members=1000, measures={"CMS130": MeasureRate(60, 100)}, contract=MMO)}
    ledger = Ledger()
    close_id = eid("close:MMO-2026:2026-03")
    posted = close_month(ledger, mmo, "2026-03", by_period, close_id)
    assert [(e.key.rule, e.amount_cents, e.posted_period) for e in posted] == [("bonus:colorectal-screening", 50_000, "2026-03")]
    assert ledger.closed.is_closed(MMO, "2026-03")
    assert close_month(ledger, mmo, "2026-03", by_period, close_id) == []  # closing again changes nothing
    # a late gap closure raises March's rate to 70 %: the change is booked in April
    by_period["2026-03"] = facts("2026-03", members=1000, measures={"CMS130": MeasureRate(70, 100)}, contract=MMO)
    entries = ledger.sync_contract_period(MMO, "2026-03", contract_postings(mmo, "2026-03", by_period), eid("gap-late"))
    assert [(e.key.period, e.amount_cents, e.posted_period, e.adjustment) for e in entries] == [
        ("2026-03", -50_000, "2026-04", True), ("2026-03", 100_000, "2026-04", True)]


@given(costs=st.lists(st.integers(min_value=0, max_value=50_000_000), min_size=3, max_size=3))
@settings(max_examples=15, deadline=None)
def test_cost_of_care_moves_the_estimates_only_of_contracts_with_shared_savings(costs):
    """The worker does not mark a contract dirty for a paid line unless its estimates read cost
    of care: without shared-savings terms, any costs give the same contract-level postings."""
    book = examples()
    periods = ("2026-01", "2026-02", "2026-03")
    rates = {"CMS130": MeasureRate(7, 10), "CMS165": MeasureRate(7, 10), "CMS122": MeasureRate(1, 10)}

    def postings(contract, cost):
        by_period = {p: facts(p, cost_cents=c, measures=rates, contract=contract.contract_id)
                     for p, c in zip(periods, cost)}
        return {k: v for p in periods for k, v in contract_postings(contract, p, by_period).items()}

    mmo, gr = book.get("MMO-2026"), book.get("GR-2026")
    assert not book.estimates_read_costs("MMO-2026") and book.estimates_read_costs("GR-2026")
    assert book.estimates_read_costs("NOT-LOADED")
    assert postings(mmo, costs) == postings(mmo, [0, 0, 0]) != {}
    with_savings = small_contract(shared_savings=SAVINGS)
    assert ContractBook([with_savings]).estimates_read_costs(with_savings.contract_id)
    assert postings(gr, [0, 0, 0]) != postings(gr, [200_000_000, 0, 0])  # spending above the benchmark
