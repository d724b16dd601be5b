"""Contracts as data: the shipped examples load, versions are picked by date, and a bad file
is refused with every problem named by its place in the file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.billing.contracts import example_contracts
from services.billing.domain import ContractError, contract_to_yaml, parse_contract

GOOD = """
contract_id: X-2026
payer: Test Payer
name: test
versions:
  - version: 1
    effective_from: 2026-01-01
    effective_to: 2026-06-30
    member_month_rule: any_day
    pmpm_fees: {low: "6.00", moderate: "12.00", high: "30.00", complex: "50.00"}
  - version: 2
    effective_from: 2026-07-01
    member_month_rule: prorated
    pmpm_fees: {low: "7.00", moderate: "12.00", high: "30.00", complex: "50.00"}
"""


def test_shipped_examples_load_with_the_platform_contract_ids():
    contracts = example_contracts()
    assert set(contracts) == {"MMO-2026", "GR-2026"}
    mmo, gr = contracts["MMO-2026"], contracts["GR-2026"]
    assert mmo.version_for("2026-03").fee_cents("high") == 3000  # the registry example posts 3000 for pmpm:high
    assert {b.kind for b in mmo.version_for("2026-03").bonuses} == {"clinical", "quality_outcome", "utilization", "satisfaction"}
    gr_v = gr.version_for("2026-05")
    assert gr_v.member_month_rule == "prorated" and gr_v.shared_savings is not None
    assert gr_v.carve_out_category("33533", None) == "cardiac_surgery"
    assert gr_v.carve_out_category("93458", None) == "cardiac_catheterization"
    assert gr_v.carve_out_category("99213", "0481") == "cardiac_catheterization"
    assert gr_v.carve_out_category("99213", None) is None


def test_the_version_in_force_on_a_date_governs():
    c = parse_contract(GOOD)
    assert c.version_on(date(2026, 6, 30)).version == 1
    assert c.version_on(date(2026, 7, 1)).version == 2
    assert c.version_for("2027-03").version == 2  # open-ended
    assert c.version_on(date(2025, 12, 31)) is None
    assert c.version_for("2026-08").fee_cents("low") == 700


def test_mmo_amendment_raises_complex_fee_from_july_only():
    mmo = example_contracts()["MMO-2026"]
    assert mmo.version_for("2026-06").fee_cents("complex") == 10000
    assert mmo.version_for("2026-07").fee_cents("complex") == 11000


def test_dollars_become_exact_cents_and_yaml_round_trips():
    c = parse_contract(GOOD.replace('low: "6.00"', "low: 6.1"))
    assert c.versions[0].pmpm_fees.low == Decimal("6.10")
    assert c.versions[0].fee_cents("low") == 610
    assert parse_contract(contract_to_yaml(c)) == c


def _problems(text: str) -> list[str]:
    with pytest.raises(ContractError) as err:
        parse_contract(text)
    return err.value.problems


def test_every_problem_is_named_by_its_place_in_the_file():
    bad = GOOD.replace('moderate: "12.00", high: "30.00", complex: "50.00"}\n  - version: 2',
                       'moderate: "12.005", high: "30.00"}\n  - version: 2')
    problems = _problems(bad)
    assert "versions[0].pmpm_fees.moderate: amount has fractions of a cent (at most 2 decimal places)" in problems
    assert "versions[0].pmpm_fees.complex: Field required" in problems


@pytest.mark.parametrize("fragment,expected", [
    ("{id: a, kind: quality_outcome, measure: CMS122, direction: higher, basis: pmpm, target: 0.2, amount: 1}",
     "CMS122 is a 'lower is better' goal; direction must be 'lower'"),
    ("{id: a, kind: clinical, measure: CMS130, basis: pmpm, target: 1.2, amount: 1}",
     "CMS130 is a rate: targets must be between 0 and 1"),
    ("{id: a, kind: satisfaction, metric: nps, basis: lump_sum, target: 40, amount: 1}",
     "metric 'nps' is not in the catalog: state its direction (higher or lower)"),
    ("{id: a, kind: clinical, measure: CMS130, basis: pmpm, target: 0.6}",
     "a bonus needs 'target' and 'amount' (or 'tiers')"),
    ("{id: a, kind: clinical, measure: CMS130, metric: readmission_rate, basis: pmpm, target: 0.6, amount: 1}",
     "give exactly one of 'measure' or 'metric'"),
    ("{id: a, kind: clinical, measure: CMS999, basis: pmpm, target: 0.6, amount: 1}",
     "Input should be 'CMS130', 'CMS125', 'CMS122', 'CMS165' or 'FUP'"),
])
def test_bonus_rules_are_checked(fragment, expected):
    text = GOOD + f"    bonuses:\n      - {fragment}\n"
    problems = _problems(text)
    assert any(expected in p and p.startswith("versions[1].bonuses[0]") for p in problems), problems


def test_versions_must_not_overlap_and_govern_whole_months():
    assert any("version 1 overlaps version 2" in p for p in _problems(GOOD.replace("2026-06-30", "2026-07-31")))
    assert any("effective_from must be the first day of a month" in p
               for p in _problems(GOOD.replace("effective_from: 2026-07-01", "effective_from: 2026-07-02")))
    assert any("effective_to must be the last day of a month" in p for p in _problems(GOOD.replace("2026-06-30", "2026-06-29")))


def test_code_ranges_keep_their_shape():
    text = GOOD + "    carve_outs:\n      - {category: heart, procedure_codes: ['33010-33999', 'C1000-C1999']}\n"
    v = parse_contract(text).version_for("2026-09")
    assert v.carve_out_category("33999", None) == "heart"
    assert v.carve_out_category("3301F", None) is None  # CPT II code, not cardiac surgery
    assert v.carve_out_category("C1500", None) == "heart"
    assert v.carve_out_category("330100", None) is None
    problems = _problems(GOOD + "    carve_outs:\n      - {category: heart, procedure_codes: ['33999-33010']}\n")
    assert any("code range starts after it ends" in p for p in problems)
    problems = _problems(GOOD + "    carve_outs:\n      - {category: heart}\n")
    assert any("a carve-out needs procedure_codes or revenue_codes" in p for p in problems)


SAVINGS = """    shared_savings:
      benchmark_pmpm: "1000.00"
      minimum_savings_rate: "0.02"
      sharing_rate: "{sharing}"
      cap_rate: "0.1"
      quality_gate: {{mode: all_quality_bonuses_met}}
"""


def test_shared_savings_rates_are_shares_and_the_gate_needs_quality_bonuses():
    problems = _problems(GOOD + SAVINGS.format(sharing="1.5"))
    assert "versions[1].shared_savings.sharing_rate: rate must be between 0 and 1 (e.g. 0.5 for 50%)" in problems
    problems = _problems(GOOD + SAVINGS.format(sharing="0.5"))
    assert "versions[1]: quality gate 'all_quality_bonuses_met' needs at least one clinical or quality_outcome bonus" in problems


def test_broken_yaml_points_at_the_line():
    problems = _problems("contract_id: X\nversions: [\n  - a\n")
    assert problems[0].startswith("line ")


def test_errors_never_echo_the_value():
    problems = _problems(GOOD.replace('"6.00"', '"SECRET-VALUE"'))
    assert problems and all("SECRET-VALUE" not in p for p in problems)
