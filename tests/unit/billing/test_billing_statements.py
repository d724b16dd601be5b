"""Statements from aggregated facts (JSON and CSV), the what-if, and the rate folds."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime, timezone

import pytest

from billing_factories import claim, examples, line, roster
from shared.events import CareTransitionCancelledV1, CareTransitionV1, GapClosedV1, GapExcludedV1, GapOpenedV1, ReadmissionV1
from services.billing.domain import (
    ContractError, FactsBuilder, Ledger, MeasureRate, accrue_member_events, build_statement, measure_rates,
    readmission_rate, statement_csv, what_if,
)
from services.billing.domain.rates import measure_rates_series

MMO, GR = "MMO-2026", "GR-2026"


def population(contract_id, members):
    """(member id, tier, eligibility start, claims) → facts builder and ledger, as the worker would."""
    book, fb, ledger = examples(), FactsBuilder(), Ledger()
    for mid, tier, start, claims in members:
        r = roster(mid, contract_id=contract_id, tier=tier, spans=((start, None),))
        acc = accrue_member_events(mid, [r], claims, book, "2026-03")
        ledger.sync_member(mid, acc.postings, r.event_id)
        fb.add_accrual(acc)
    return book.get(contract_id), fb, ledger


def test_statement_shows_member_months_fees_costs_and_bonuses_by_tier():
    contract, fb, ledger = population(MMO, [
        ("M1", "high", date(2026, 1, 1), [claim("C1", (line(1, "99214", date(2026, 3, 2), "120.00"),), member_id="M1")]),
        ("M2", "high", date(2026, 3, 31), []),
        ("M3", "complex", date(2026, 2, 1), []),
    ])
    fb.set_measure(MMO, "2026-03", "CMS130", MeasureRate(2, 3))
    st = build_statement(contract, "2026-03", fb.for_contract(MMO), ledger.totals(MMO, "2026-03"))
    tiers = {t["tier"]: t for t in st["member_months"]["by_tier"]}
    assert (tiers["high"]["members"], tiers["high"]["member_months"], tiers["high"]["fees"]) == (2, "2.0000", "60.00")
    assert tiers["complex"]["fees"] == "100.00" and tiers["low"]["fees"] == "0.00"
    assert st["member_months"]["member_months"] == "3.0000" and st["member_months"]["fees"] == "160.00"
    assert st["cost_of_care"] == {"total": "120.00", "pmpm": "40.00"}
    col = next(b for b in st["bonuses"]["rules"] if b["rule"] == "colorectal-screening")
    assert (col["measured"], col["numerator"], col["denominator"], col["target"], col["met"], col["amount"]) == \
        ("0.6667", 2, 3, "0.60", True, "1.50")  # 3 member months × $0.50
    bcs = next(b for b in st["bonuses"]["rules"] if b["rule"] == "breast-cancer-screening")
    assert bcs["note"] == "no data" and bcs["amount"] == "0.00"
    assert st["ledger"]["by_account"] == {"cost_of_care": "120.00", "pmpm_fee": "160.00"}  # the books agree
    assert st["shared_savings"] is None
    json.dumps(st)  # JSON-able as is


def test_statement_csv_has_one_row_per_figure():
    contract, fb, _ = population(GR, [
        ("M1", "moderate", date(2026, 1, 17), [claim("C1", (line(1, "99214", date(2026, 1, 20), "200.00"),
                                                            line(2, "33533", date(2026, 1, 20), "9000.00")), member_id="M1")]),
    ])
    text = statement_csv(build_statement(contract, "2026-01", fb.for_contract(GR)))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "item", "measure", "quantity", "rate", "target", "amount"]
    by = {(r[0], r[1]): r for r in rows[1:]}
    assert by[("member_months", "moderate")][3] == "0.4839"  # 15 of 31 days, prorated
    assert by[("carve_out", "cardiac_surgery")][6] == "9000.00"
    assert by[("cost_of_care", "total")][6] == "200.00"
    # benchmark $1,050 × 15/31 = $508.064… → $508.06; savings $308.06 = 60.6 % ≥ 2 %; cap 10 % = $50.81
    assert by[("shared_savings", "benchmark_total")][6] == "508.06"
    assert by[("shared_savings", "savings")][6] == "308.06"
    assert by[("shared_savings", "cap")][6] == "50.81"
    assert by[("shared_savings", "quality_gate_met")][4] == "false"  # no measure data yet


def test_what_if_recomputes_under_changed_terms_without_posting():
    contract, fb, ledger = population(MMO, [("M1", "high", date(2026, 1, 1), []), ("M2", "low", date(2026, 1, 1), [])])
    before = list(ledger.entries)
    result = what_if(contract, "2026-03", fb.for_contract(MMO), {"pmpm_fees": {"high": "35.00"}})
    assert result["base"]["member_months"]["fees"] == "39.00"
    assert result["what_if"]["member_months"]["fees"] == "44.00"
    assert result["difference"]["fees"] == "5.00"
    assert ledger.entries == before and contract.version_for("2026-03").fee_cents("high") == 3000


def test_what_if_can_change_one_bonus_or_a_savings_term():
    contract, fb, _ = population(MMO, [("M1", "high", date(2026, 1, 1), [])])
    fb.set_measure(MMO, "2026-03", "CMS130", MeasureRate(55, 100))
    r = what_if(contract, "2026-03", fb.for_contract(MMO),
                {"bonuses": [{"id": "colorectal-screening", "tiers": [{"target": "0.55", "amount": "0.50"}]}]})
    assert r["difference"]["bonuses"] == "0.50"
    assert len(r["what_if"]["bonuses"]["rules"]) == len(r["base"]["bonuses"]["rules"])
    gr, fb2, _ = population(GR, [("M1", "high", date(2026, 1, 1), [])])
    fb2.set_measure(GR, "2026-01", "CMS165", MeasureRate(1, 1))
    fb2.set_measure(GR, "2026-01", "CMS122", MeasureRate(0, 1))
    fb2.set_measure(GR, "2026-01", "CMS130", MeasureRate(1, 1))
    r = what_if(gr, "2026-01", fb2.for_contract(GR), {"shared_savings": {"cap_rate": "0.20"}})
    assert r["base"]["shared_savings"]["shared_ytd"] == "105.00" and r["what_if"]["shared_savings"]["shared_ytd"] == "210.00"


def test_an_invalid_what_if_is_refused_with_the_reason():
    contract, fb, _ = population(MMO, [("M1", "high", date(2026, 1, 1), [])])
    with pytest.raises(ContractError) as err:
        what_if(contract, "2026-03", fb.for_contract(MMO), {"pmpm_fees": {"high": "-1"}})
    assert err.value.problems == ["pmpm_fees.high: amount must not be negative"]


def test_a_statement_outside_the_contract_is_refused():
    contract, fb, _ = population(MMO, [("M1", "high", date(2026, 1, 1), [])])
    with pytest.raises(ValueError):
        build_statement(contract, "2027-01", fb.for_contract(MMO))


def _gap(cls, key, measure, day, **kw):
    ts = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return cls(**cls.envelope(occurred_at=ts, recorded_at=ts, source="gaps", member_id="M1", event_id=uuid.uuid4()),
               gap_key=key, measure_id=measure, measure_version="v1", period_start=date(2026, 1, 1),
               period_end=date(2026, 12, 31), reason="r", practice_id="P1", contract_id=MMO, **kw)


def test_measure_rates_follow_the_latest_status_as_of_a_date_and_invert_cms122():
    events = [
        _gap(GapOpenedV1, "a|CMS130", "CMS130", date(2026, 1, 5)),
        _gap(GapClosedV1, "a|CMS130", "CMS130", date(2026, 3, 10)),
        _gap(GapOpenedV1, "b|CMS130", "CMS130", date(2026, 1, 5)),
        _gap(GapExcludedV1, "c|CMS130", "CMS130", date(2026, 1, 5)),
        _gap(GapOpenedV1, "a|CMS122", "CMS122", date(2026, 1, 5)),
        _gap(GapClosedV1, "b|CMS122", "CMS122", date(2026, 1, 5), status="due_soon"),
    ]
    feb = measure_rates(events, MMO, date(2026, 2, 28))
    assert feb == {"CMS122": MeasureRate(1, 2), "CMS130": MeasureRate(0, 2)}
    assert measure_rates(reversed(events), MMO, date(2026, 3, 31))["CMS130"] == MeasureRate(1, 2)


def test_readmission_rate_counts_index_discharges_and_unretracted_readmissions():
    def ts(d):
        return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)

    def env(cls, d):
        return cls.envelope(occurred_at=ts(d), recorded_at=ts(d), source="admissions", member_id="M1", event_id=uuid.uuid4())

    tids = [uuid.uuid4() for _ in range(3)]
    transitions = [
        CareTransitionV1(**env(CareTransitionV1, date(2026, 2, d)), transition_id=t, encounter_key=f"E{d}",
                         facility="MERCY", discharge_time=ts(date(2026, 2, d)), pcp_practice_id="P1", contract_id=MMO)
        for t, d in zip(tids, (1, 10, 20))
    ]
    transitions.append(CareTransitionCancelledV1(**env(CareTransitionCancelledV1, date(2026, 2, 21)),
                                                 transition_id=tids[2], reason="A13"))
    rid = uuid.uuid4()
    readmit = dict(readmission_id=rid, index_encounter_key="E1", index_discharge_date=date(2026, 2, 1),
                   readmit_encounter_key="E10", admit_date=date(2026, 2, 8), days_since_discharge=7,
                   pcp_practice_id="P1", contract_id=MMO)
    r1 = ReadmissionV1(**env(ReadmissionV1, date(2026, 2, 8)), **readmit)
    rate = readmission_rate(transitions, [r1], MMO, date(2026, 1, 1), date(2026, 2, 28))
    assert (rate.numerator, rate.denominator) == (1, 2)
    retracted = ReadmissionV1(**env(ReadmissionV1, date(2026, 2, 9)), **{**readmit, "retracted": True})
    assert readmission_rate(transitions, [retracted, r1], MMO, date(2026, 1, 1), date(2026, 2, 28)).numerator == 0
    assert readmission_rate([], [], MMO, date(2026, 1, 1), date(2026, 2, 28)) is None


def test_a_gap_re_announced_under_a_new_contract_leaves_the_old_contracts_rates():
    events = [
        _gap(GapOpenedV1, "a|CMS130", "CMS130", date(2026, 1, 5)),
        _gap(GapClosedV1, "a|CMS130", "CMS130", date(2026, 2, 10)),
        _gap(GapOpenedV1, "b|CMS130", "CMS130", date(2026, 1, 5)),
        # member a moved to GR: the gaps service re-announces the gap under GR, open again
        _gap(GapOpenedV1, "a|CMS130", "CMS130", date(2026, 4, 2)).model_copy(update={"contract_id": GR}),
    ]
    assert measure_rates(events, MMO, date(2026, 3, 31))["CMS130"] == MeasureRate(1, 2)
    assert measure_rates(events, MMO, date(2026, 4, 30))["CMS130"] == MeasureRate(0, 1)
    assert measure_rates(events, GR, date(2026, 4, 30))["CMS130"] == MeasureRate(0, 1)
    days = [date(2026, 3, 31), date(2026, 4, 30)]
    assert measure_rates_series(events, MMO, days) == {d: measure_rates(events, MMO, d) for d in days}
