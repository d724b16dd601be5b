"""Tier rules as data, effective dates, and the tier changes they publish."""

from __future__ import annotations

from datetime import date

import pytest

from services.risk.adapters.reference import load_policies
from services.risk.domain.assessment import tier_change
from services.risk.domain.tiers import TierPolicy, Utilization, parse_policy, tier_in_force

POLICY = parse_policy({
    "contract_id": "C1", "authority": "computed", "effective": "next_month",
    "tiers": [
        {"tier": "complex", "score_at_least": 3.5, "signals_at_least": {"readmissions": 1}},
        {"tier": "high", "score_at_least": 1.8, "signals_at_least": {"admissions": 2}},
        {"tier": "moderate", "score_at_least": 1.0, "signals_at_least": {"ed_visits": 2, "open_gaps": 3}},
    ],
})


def test_the_first_tier_whose_criteria_hold_wins_and_says_why():
    d = POLICY.decide(2.12, Utilization())
    assert d.tier == "high" and d.reasons == ("risk score 2.120 >= 1.8",)
    d = POLICY.decide(0.4, Utilization(readmissions=1, ed_visits=4))
    assert d.tier == "complex" and d.reasons == ("30-day readmissions in 12 months: 1 >= 1",)
    assert POLICY.decide(0.9, Utilization(ed_visits=1, open_gaps=2)).tier == "low"
    assert POLICY.decide(0.9, Utilization(ed_visits=2)).tier == "moderate"
    assert POLICY.decide(None, Utilization()).tier == "low"
    assert POLICY.decide(1.0, Utilization()).tier == "moderate"   # a cut point is "at least"


def test_effective_dates():
    assert POLICY.effective_date(date(2026, 3, 12)) == date(2026, 4, 1)
    assert POLICY.effective_date(date(2026, 12, 31)) == date(2027, 1, 1)
    assert TierPolicy("C", effective="immediate").effective_date(date(2026, 3, 12)) == date(2026, 3, 12)


@pytest.mark.parametrize("data, message", [
    ({}, "contract_id is required"),
    ({"contract_id": "C", "authority": "payer"}, "authority must be computed or roster"),
    ({"contract_id": "C", "tiers": [{"tier": "moderate", "score_at_least": 1}, {"tier": "high", "score_at_least": 2}]},
     "from the highest down"),
    ({"contract_id": "C", "tiers": [{"tier": "high", "signals_at_least": {"sneezes": 2}}]}, "unknown signal"),
    ({"contract_id": "C", "tiers": [{"tier": "high"}]}, "needs score_at_least or signals_at_least"),
    ({"contract_id": "C", "model": "V99"}, "model must be V24 or V28"),
])
def test_bad_policies_are_refused_with_the_field(data, message):
    with pytest.raises(ValueError, match=message):
        parse_policy(data, "x.yaml")


def test_the_shipped_contract_policies_load():
    policies = load_policies()
    assert {"MMO-2026", "GR-2026", "*"} <= set(policies)
    assert policies["GR-2026"].authority == "roster"
    assert policies["MMO-2026"].authority == "computed" and policies["MMO-2026"].model == "V28"


def test_a_first_change_goes_from_the_roster_tier_to_the_computed_one_next_month():
    c = tier_change([], roster_tier="moderate", new_tier="high", effective=date(2026, 4, 1))
    assert (c.old_tier, c.new_tier, c.history) == ("moderate", "high", ((date(2026, 4, 1), "high"),))


def test_no_change_when_the_computed_tier_is_already_in_force_or_planned():
    assert tier_change([], roster_tier="high", new_tier="high", effective=date(2026, 4, 1)) is None
    planned = [(date(2026, 4, 1), "high")]
    assert tier_change(planned, roster_tier="moderate", new_tier="high", effective=date(2026, 4, 1)) is None
    assert tier_change(planned, roster_tier="moderate", new_tier="high", effective=date(2026, 5, 1)) is None


def test_a_pending_change_that_goes_back_before_its_date_is_cancelled():
    planned = [(date(2026, 2, 1), "moderate"), (date(2026, 4, 1), "high")]
    c = tier_change(planned, roster_tier="low", new_tier="moderate", effective=date(2026, 4, 1))
    assert (c.old_tier, c.new_tier) == ("moderate", "moderate")
    assert c.history == ((date(2026, 2, 1), "moderate"),)
    assert tier_in_force(list(c.history), date(2026, 4, 15), "low") == "moderate"


def test_a_later_change_keeps_the_earlier_spans():
    c = tier_change([(date(2026, 2, 1), "moderate")], roster_tier="low", new_tier="complex", effective=date(2026, 6, 1))
    assert c.old_tier == "moderate" and c.history == ((date(2026, 2, 1), "moderate"), (date(2026, 6, 1), "complex"))
