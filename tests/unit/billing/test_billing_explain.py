"""Explaining a statement figure: the inputs, the exclusions with their reasons, the arithmetic
with the contract clause — and the amount the statement shows."""

from __future__ import annotations

from datetime import date

import pytest

from billing_factories import claim, examples, line, roster, small_contract
from services.billing.domain import (
    ContractBook, FactsBuilder, MeasureRate, accrue_member_events, build_statement, coverage_from_roster, member_months,
)
from services.billing.domain.claim_lines import member_claim_lines
from services.billing.domain.explain import explain_figure, figure_names

FEES = {"low": "9.00", "moderate": "17.00", "high": "30.00", "complex": "100.00"}


def facts_of(book, contract_id, members, through):
    fb = FactsBuilder()
    for mid, snapshots, claims in members:
        fb.add_accrual(accrue_member_events(mid, snapshots, claims, book, through))
    return fb


def test_prorated_fees_list_each_member_month_and_add_up_to_the_statement():
    contract = small_contract(member_month_rule="prorated", pmpm_fees=FEES)
    book = ContractBook([contract])
    members = [("M1", [roster("M1", contract_id="T-2026", tier="complex", spans=((date(2026, 3, 2), date(2026, 3, 16)),))], []),
               ("M2", [roster("M2", contract_id="T-2026", tier="complex")], []),
               ("M3", [roster("M3", contract_id="T-2026", tier="low", spans=((date(2026, 3, 20), None),))], [])]
    fb = facts_of(book, "T-2026", members, "2026-03")
    facts = fb.for_contract("T-2026")
    months = [m for mid, snaps, _ in members for m in member_months(mid, coverage_from_roster(snaps), "2026-03", "2026-03")]
    body = explain_figure(contract, "2026-03", "fees", facts, months)
    st = build_statement(contract, "2026-03", facts)
    assert body["amount"] == st["member_months"]["fees"] == "151.87"  # 48.39 + 100.00 + 9.00 × 12/31 = 3.48
    rows = {r["member_id"]: r for r in body["member_months"]}
    assert (rows["M1"]["eligible_days"], rows["M1"]["days_in_month"], rows["M1"]["fee"]) == (15, 31, "48.39")
    assert rows["M3"]["fee"] == "3.48" and rows["M3"]["member_months"] == "0.3871"
    text = "\n".join(body["arithmetic"])
    assert "versions[0].member_month_rule = prorated" in text and "versions[0].rounding = half_even" in text
    assert "complex (versions[0].pmpm_fees.complex = 100.00): 1 × (100.00 × 31/31 = 100.00) = 100.00 + " \
           "1 × (100.00 × 15/31 = 48.39) = 48.39" in text
    only_high = explain_figure(contract, "2026-03", "fees:low", facts, months)
    assert only_high["amount"] == "3.48" and [r["member_id"] for r in only_high["member_months"]] == ["M3"]


def test_cost_of_care_lists_what_counted_and_what_was_excluded_with_the_reason():
    book = examples()
    gr = book.get("GR-2026")
    mar = date(2026, 3, 10)
    snaps = [roster("M1", contract_id="GR-2026", tier="low", spans=((date(2026, 1, 1), date(2026, 3, 20)),))]
    claims = [
        claim("A", (line(1, "99213", mar, "100.00"),), member_id="M1"),
        claim("B", (line(1, "99214", mar, "250.00"),), member_id="M1"),
        claim("B2", (line(1, "99214", mar, "200.00"),), member_id="M1", frequency="7", original="B"),
        claim("C", (line(1, "99215", mar, "5000.00"),), member_id="M1"),
        claim("C", (line(1, "99215", mar, "5000.00"),), member_id="M1", frequency="8", original="C", received=date(2026, 4, 2)),
        claim("Z", (line(1, "99213", mar, "75.00"),), member_id="M1", frequency="8", original="NEVER-SEEN"),
        claim("K", (line(1, "93458", mar, "3000.00"),), member_id="M1"),  # cardiac catheterization: carved out
        claim("L", (line(1, "99213", date(2026, 3, 25), "60.00"),), member_id="M1"),  # after eligibility ended
    ]
    fb = facts_of(book, "GR-2026", [("M1", snaps, claims)], "2026-03")
    facts = fb.for_contract("GR-2026")
    lines = member_claim_lines("M1", coverage_from_roster(snaps), claims, gr, "2026-03")
    body = explain_figure(gr, "2026-03", "cost_of_care", facts, lines=lines)
    assert body["amount"] == build_statement(gr, "2026-03", facts)["cost_of_care"]["total"] == "300.00"
    assert sorted((c["claim_id"], c["paid"]) for c in body["claims_counted"]) == [("A", "100.00"), ("B2", "200.00")]
    excluded = {(e["claim_id"], e["frequency_code"]): (e["status"], e["reason"]) for e in body["claims_excluded"]}
    assert excluded[("B", "1")] == ("replaced", "replaced by claim B2 (frequency 7)")
    assert excluded[("C", "1")] == ("voided", "voided by claim C (frequency 8)")
    assert excluded[("C", "8")][0] == "void"
    assert excluded[("Z", "8")] == ("held", "void whose original has not arrived (claim NEVER-SEEN): it voids nothing yet")
    assert excluded[("K", "1")][0] == "carve_out" and "versions[0].carve_outs[1] cardiac_catheterization" in excluded[("K", "1")][1]
    assert excluded[("L", "1")] == ("outside_eligibility", "the member was not eligible under GR-2026 on 2026-03-25")
    assert body["counts"]["claims_excluded"] == {"carve_out": 1, "held": 1, "outside_eligibility": 1, "replaced": 1,
                                                 "void": 1, "voided": 1}
    carve = explain_figure(gr, "2026-03", "carve_out:cardiac_catheterization", facts, lines=lines)
    assert carve["amount"] == "3000.00" and [c["claim_id"] for c in carve["claims_counted"]] == ["K"]


def test_a_bonus_shows_the_measured_rate_against_the_levels_and_the_member_months():
    book = examples()
    mmo = book.get("MMO-2026")
    snaps = [roster("M1"), roster("M2", tier="low")]
    fb = facts_of(book, "MMO-2026", [("M1", snaps[:1], []), ("M2", snaps[1:], [])], "2026-03")
    fb.set_measure("MMO-2026", "2026-03", "CMS130", MeasureRate(7, 10))
    months = [m for s in snaps for m in member_months(s.member_id, coverage_from_roster([s]), "2026-03", "2026-03")]
    body = explain_figure(mmo, "2026-03", "bonus:colorectal-screening", fb.for_contract("MMO-2026"), months)
    assert body["amount"] == "2.00"
    text = "\n".join(body["arithmetic"])
    assert "versions[0].bonuses[0] colorectal-screening (clinical, CMS130, basis pmpm)" in text
    assert "7/10 = 0.7000" in text and "level 2 reached (target 0.70): 1.00 × 2.0000 member months = 2.00" in text
    assert len(body["member_months"]) == 2


def test_shared_savings_names_each_term_and_the_one_rounding():
    book = examples()
    gr = book.get("GR-2026")
    snaps = [roster("M1", contract_id="GR-2026", tier="low")]
    claims = [claim("A", (line(1, "99213", date(2026, 2, 3), "400.00"),), member_id="M1")]
    fb = facts_of(book, "GR-2026", [("M1", snaps, claims)], "2026-03")
    for p in ("2026-01", "2026-02", "2026-03"):
        for measure, rate in (("CMS165", MeasureRate(7, 10)), ("CMS122", MeasureRate(1, 10)), ("CMS130", MeasureRate(6, 10))):
            fb.set_measure("GR-2026", p, measure, rate)
    facts = fb.for_contract("GR-2026")
    body = explain_figure(gr, "2026-03", "shared_savings", facts)
    st = build_statement(gr, "2026-03", facts)
    assert body["amount"] == st["shared_savings"]["month_amount"]
    text = "\n".join(body["arithmetic"])
    assert "versions[0].shared_savings.benchmark_pmpm" in text and "the one rounding, half_even" in text
    assert [m["period"] for m in body["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert body["months"][1]["cost_of_care"] == "400.00"


def test_an_unknown_figure_names_the_figures_the_month_has():
    mmo = examples().get("MMO-2026")
    with pytest.raises(ValueError, match="one of: fees, fees:low"):
        explain_figure(mmo, "2026-03", "profit", {})
    assert "bonus:colorectal-screening" in figure_names(mmo, "2026-03") and "shared_savings" not in figure_names(mmo, "2026-03")
