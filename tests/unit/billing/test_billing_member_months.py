"""Member months and PMPM fees: the member-month rules, tier changes, retro terminations."""

from __future__ import annotations

from datetime import date

from billing_factories import examples, roster, small_contract
from services.billing.domain import (
    ContractBook, Ledger, PostingKey, accrue_member_events, coverage_from_roster, member_months,
)

FEES = {"low": "9.00", "moderate": "17.00", "high": "30.00", "complex": "100.00"}


def pmpm(postings):
    return {(k.period, k.rule): v for k, v in postings.items() if k.account == "pmpm_fee"}


def test_one_day_counts_as_a_full_month_under_any_day():
    book = examples()  # MMO-2026 is any_day, high tier $30.00
    r = roster(spans=((date(2026, 3, 31), date(2026, 3, 31)),))
    acc = accrue_member_events("M1", [r], [], book, "2026-04")
    assert pmpm(acc.postings) == {("2026-03", "pmpm:high"): 3000}
    assert [m.period for m in acc.months] == ["2026-03"]


def test_a_prorated_fee_is_the_fee_times_the_eligible_fraction_rounded_once():
    book = ContractBook([small_contract(member_month_rule="prorated", pmpm_fees=FEES)])
    # one day of 31 is 3000/31 = 96.77 cents: 97, wherever the day falls in the month
    last = roster(contract_id="T-2026", spans=((date(2026, 3, 31), date(2026, 3, 31)),))
    assert pmpm(accrue_member_events("M1", [last], [], book, "2026-04").postings) == {("2026-03", "pmpm:high"): 97}
    mid = roster(contract_id="T-2026", spans=((date(2026, 3, 16), date(2026, 3, 16)),))
    assert pmpm(accrue_member_events("M1", [mid], [], book, "2026-04").postings) == {("2026-03", "pmpm:high"): 97}
    # February 2026 has 28 days; 14 of them is exactly half of $30.00
    half = roster(contract_id="T-2026", spans=((date(2026, 2, 15), date(2026, 2, 28)),))
    assert pmpm(accrue_member_events("M1", [half], [], book, "2026-02").postings) == {("2026-02", "pmpm:high"): 1500}


def test_a_part_month_fee_is_not_summed_from_rounded_days():
    """$100.00 for 2–16 March (15 of 31 days) is 48.387…: $48.39. Summing per-day amounts each
    rounded to the cent gave round(10000·16/31) − round(10000·1/31) = 5161 − 323 = $48.38."""
    book = ContractBook([small_contract(member_month_rule="prorated", pmpm_fees={**FEES, "complex": "100.00"})])
    r = roster(contract_id="T-2026", tier="complex", spans=((date(2026, 3, 2), date(2026, 3, 16)),))
    assert pmpm(accrue_member_events("M1", [r], [], book, "2026-03").postings) == {("2026-03", "pmpm:complex"): 4839}
    # two runs in one month are one member month: (2–6, 20–29) = 15 days, the same fee
    split = roster(contract_id="T-2026", tier="complex",
                   spans=((date(2026, 3, 2), date(2026, 3, 6)), (date(2026, 3, 20), date(2026, 3, 29))))
    assert pmpm(accrue_member_events("M1", [split], [], book, "2026-03").postings) == {("2026-03", "pmpm:complex"): 4839}


def test_the_contract_may_round_half_up_instead_of_half_even():
    # $1.01 for 15 of April's 30 days is exactly 50.5 cents
    fees = {**FEES, "low": "1.01"}
    even = ContractBook([small_contract(member_month_rule="prorated", pmpm_fees=fees)])
    up = ContractBook([small_contract(member_month_rule="prorated", pmpm_fees=fees, rounding="half_up")])
    r = roster(contract_id="T-2026", tier="low", spans=((date(2026, 4, 16), date(2026, 4, 30)),))
    assert pmpm(accrue_member_events("M1", [r], [], even, "2026-04").postings) == {("2026-04", "pmpm:low"): 50}
    assert pmpm(accrue_member_events("M1", [r], [], up, "2026-04").postings) == {("2026-04", "pmpm:low"): 51}


def test_member_months_carry_the_eligible_day_runs():
    r = roster(spans=((date(2026, 1, 20), date(2026, 2, 3)), (date(2026, 2, 10), date(2026, 2, 12))))
    months = member_months("M1", coverage_from_roster([r]), "2026-03")
    assert [(m.period, m.runs, m.eligible_days) for m in months] == [
        ("2026-01", ((20, 31),), 12),
        ("2026-02", ((1, 3), (10, 12)), 6),
    ]


def test_a_tier_change_mid_year_changes_only_the_months_after():
    book = examples()
    jan = roster(tier="low", on=date(2026, 1, 1))
    ledger = Ledger()
    ledger.sync_member("M1", accrue_member_events("M1", [jan], [], book, "2026-08").postings, jan.event_id)
    assert ledger.balance(PostingKey("MMO-2026", "2026-07", "pmpm_fee", "M1", "pmpm:low")) == 900

    june = roster(tier="high", on=date(2026, 6, 15))  # the roster says high from 15 June
    acc = accrue_member_events("M1", [jan, june], [], book, "2026-08")
    assert pmpm(acc.postings) == {
        **{(f"2026-0{m}", "pmpm:low"): 900 for m in range(1, 7)},  # June keeps the tier it started with
        ("2026-07", "pmpm:high"): 3000, ("2026-08", "pmpm:high"): 3000,
    }
    entries = ledger.sync_member("M1", acc.postings, june.event_id)
    assert sorted((e.key.period, e.key.rule, e.amount_cents) for e in entries) == [
        ("2026-07", "pmpm:high", 3000), ("2026-07", "pmpm:low", -900),
        ("2026-08", "pmpm:high", 3000), ("2026-08", "pmpm:low", -900),
    ]


def test_a_change_dated_the_first_of_a_month_takes_that_month():
    book = examples()
    acc = accrue_member_events("M1", [roster(tier="low"), roster(tier="complex", on=date(2026, 7, 1))], [], book, "2026-07")
    assert pmpm(acc.postings)[("2026-07", "pmpm:complex")] == 11000  # version 2 fee for complex


def test_a_back_dated_termination_reverses_the_months_affected():
    book = examples()
    start = roster(on=date(2026, 1, 1))
    ledger = Ledger()
    ledger.sync_member("M1", accrue_member_events("M1", [start], [], book, "2026-04").postings, start.event_id)
    assert sum(e.amount_cents for e in ledger.entries) == 4 * 3000

    # in April the payer says the member's eligibility ended on 10 February
    term = roster(on=date(2026, 4, 20), spans=((date(2026, 1, 1), date(2026, 2, 10)),), status="termed")
    entries = ledger.sync_member("M1", accrue_member_events("M1", [start, term], [], book, "2026-04").postings, term.event_id)
    assert sorted((e.key.period, e.amount_cents, e.reverses is not None) for e in entries) == [
        ("2026-03", -3000, True), ("2026-04", -3000, True),
    ]
    assert ledger.balances() == {("MMO-2026", p, "pmpm_fee"): a for p, a in
                                 [("2026-01", 3000), ("2026-02", 3000), ("2026-03", 0), ("2026-04", 0)]}


def test_a_termed_snapshot_with_an_open_span_ends_on_its_own_date():
    term = roster(on=date(2026, 3, 10), status="termed")
    assert [m.period for m in member_months("M1", coverage_from_roster([term]), "2026-06")] == ["2026-01", "2026-02", "2026-03"]


def test_months_without_a_contract_version_accrue_nothing():
    acc = accrue_member_events("M1", [roster(spans=((date(2025, 11, 1), None),))], [], examples(), "2026-01")
    assert sorted({k.period for k in acc.postings}) == ["2026-01"]
    other = accrue_member_events("M1", [roster(contract_id="UNKNOWN-1")], [], examples(), "2026-01")
    assert other.postings == {} and other.unpriced_contracts == {"UNKNOWN-1"}
    assert other.unpriced_months == {"UNKNOWN-1": 1}
    # November and December 2025 are before MMO-2026's term: not its months, and no alarm
    assert acc.unpriced_months == {} and acc.unpriced_contracts == frozenset()
    assert acc.outside_term_months == {"MMO-2026": 2}


def test_a_month_inside_the_term_without_a_version_is_unpriced():
    from services.billing.domain import contract_from_mapping

    gap = contract_from_mapping({"contract_id": "T-GAP", "payer": "P", "name": "n", "versions": [
        {"version": 1, "effective_from": "2026-01-01", "effective_to": "2026-02-28", "member_month_rule": "any_day",
         "pmpm_fees": FEES},
        {"version": 2, "effective_from": "2026-04-01", "effective_to": "2026-06-30", "member_month_rule": "any_day",
         "pmpm_fees": FEES}]})
    r = roster(contract_id="T-GAP", spans=((date(2025, 12, 1), date(2026, 7, 31)),))
    acc = accrue_member_events("M1", [r], [], ContractBook([gap]), "2026-07")
    assert sorted(p for p, _ in pmpm(acc.postings)) == ["2026-01", "2026-02", "2026-04", "2026-05", "2026-06"]
    assert acc.unpriced_months == {"T-GAP": 1}  # March: inside the term, no rate
    assert acc.outside_term_months == {"T-GAP": 2}  # December 2025 and July 2026


def test_unpriced_member_months_are_counted_and_logged_without_the_member(caplog):
    from prometheus_client import REGISTRY

    from services.billing.metrics import Pending

    def counted() -> float:
        return REGISTRY.get_sample_value("billing_unpriced_member_months_total", {"contract": "UNKNOWN-7"}) or 0.0

    before = counted()
    acc = accrue_member_events("M-SECRET-42", [roster(member_id="M-SECRET-42", contract_id="UNKNOWN-7")], [],
                               examples(), "2026-03")
    pending = Pending()
    pending.unpriced.update(acc.unpriced_months)
    with caplog.at_level("WARNING"):
        pending.apply()
    assert counted() - before == 3  # January through March
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "3 member month(s) under contract UNKNOWN-7" in warnings[0]
    assert "M-SECRET-42" not in caplog.text


def test_snapshot_order_of_arrival_does_not_matter():
    a = roster(tier="low", on=date(2026, 1, 1))
    b = roster(tier="moderate", on=date(2026, 3, 2))
    c = roster(tier="complex", on=date(2026, 5, 1), spans=((date(2026, 1, 1), date(2026, 5, 31)),))
    book = examples()
    results = {tuple(sorted(accrue_member_events("M1", order, [], book, "2026-06").postings.items()))
               for order in ([a, b, c], [c, b, a], [b, c, a, a])}
    assert len(results) == 1


def test_opening_a_month_accrues_only_that_month_and_leaves_earlier_ones_alone():
    book = examples()
    r = roster()
    ledger = Ledger()
    ledger.sync_member("M1", accrue_member_events("M1", [r], [], book, "2026-02").postings, r.event_id)
    opened = accrue_member_events("M1", [r], [], book, "2026-03", since="2026-03")
    assert pmpm(opened.postings) == {("2026-03", "pmpm:high"): 3000}
    entries = ledger.sync_member("M1", opened.postings, r.event_id, since="2026-03")
    assert [(e.key.period, e.amount_cents) for e in entries] == [("2026-03", 3000)]
    assert ledger.balances() == {("MMO-2026", p, "pmpm_fee"): 3000 for p in ("2026-01", "2026-02", "2026-03")}
