"""Billing prices member months at the computed tier from risk.tiers (PostgreSQL and SQLite)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from sqlalchemy import select

from services.billing.adapters.tables import member_months
from services.billing.domain.computed_tiers import overlay
from services.billing.domain.coverage import CoverageSpan
from shared.events import RiskTierChangedV1, TierSpan, UtilizationFactors

from .billing_inputs import claim, roster
from .test_billing_handlers import amounts, apply, env  # noqa: F401 - the fixture, on both backends


def tier_event(member_id: str, history, *, decided: date = date(2026, 3, 12), old="high", new="complex"):
    at = datetime.combine(decided, datetime.min.time(), timezone.utc)
    return RiskTierChangedV1(
        **RiskTierChangedV1.envelope(occurred_at=at, source="risk", member_id=member_id, event_id=uuid.uuid4()),
        contract_id="MMO-2026", practice_id="P001", effective_date=history[-1][0] if history else decided,
        old_tier=old, new_tier=new, decided_on=decided, model="CMS-HCC V28", payment_year=2026, risk_score=3.2,
        utilization=UtilizationFactors(admissions_12m=0, ed_visits_12m=0, readmissions_12m=1, open_gaps=0),
        rule="test", history=tuple(TierSpan(start=d, tier=t) for d, t in history))


def test_a_computed_tier_reprices_the_months_from_its_effective_date(env):
    db, billing, _, _ = env
    first = apply(db, billing, [roster("RT1", tier="high", start=date(2026, 1, 1))])
    assert {e.period: e.amount_cents for e in first if e.account == "pmpm_fee"} == \
        {"2026-01": 3000, "2026-02": 3000, "2026-03": 3000, "2026-04": 3000}
    out = apply(db, billing, [tier_event("RT1", [(date(2026, 4, 1), "complex")])])
    # April moves from high (30.00) to complex (100.00): the high fee is reversed, the complex one posted
    assert amounts(out, "pmpm_fee") == [("2026-04", "pmpm_fee", "pmpm:complex", 10000),
                                        ("2026-04", "pmpm_fee", "pmpm:high", -3000)]
    with db.reader() as r:
        s = r.session  # what the tables hold
        tiers = dict(s.execute(select(member_months.c.period, member_months.c.tier)
                               .where(member_months.c.member_id == "RT1")).all())
    assert tiers == {"2026-01": "high", "2026-02": "high", "2026-03": "high", "2026-04": "complex"}
    # a claim for the member later in a batch of its own keeps the computed tier (coverage cache)
    apply(db, billing, [claim("RT1", "C9", (("99213", date(2026, 4, 3), "80.00"),))])
    again = apply(db, billing, [roster("RT1", tier="high", start=date(2026, 1, 1), on=date(2026, 4, 2))])
    assert not [e for e in again if e.account == "pmpm_fee"], "a roster snapshot does not undo the computed tier"


def test_an_older_decision_arriving_late_changes_nothing_and_a_cancellation_restores_the_roster_tier(env):
    db, billing, _, _ = env
    apply(db, billing, [roster("RT2", tier="moderate", start=date(2026, 1, 1))])
    apply(db, billing, [tier_event("RT2", [(date(2026, 4, 1), "high")], decided=date(2026, 3, 20))])
    assert apply(db, billing, [tier_event("RT2", [(date(2026, 3, 1), "low")], decided=date(2026, 2, 10))]) == []
    out = apply(db, billing, [tier_event("RT2", [], decided=date(2026, 3, 25), old="moderate", new="moderate")])
    assert amounts(out, "pmpm_fee") == [("2026-04", "pmpm_fee", "pmpm:high", -3000),
                                        ("2026-04", "pmpm_fee", "pmpm:moderate", 1700)]


def test_a_tier_event_for_a_member_billing_has_no_roster_for_waits_for_the_roster(env):
    db, billing, _, _ = env
    assert apply(db, billing, [tier_event("RT3", [(date(2026, 2, 1), "complex")])]) == []
    out = apply(db, billing, [roster("RT3", tier="low", start=date(2026, 1, 1))])
    assert {e.period: e.rule for e in out if e.account == "pmpm_fee"} == {
        "2026-01": "pmpm:low", "2026-02": "pmpm:complex", "2026-03": "pmpm:complex", "2026-04": "pmpm:complex"}


def test_overlay_cuts_coverage_at_month_starts():
    cov = (CoverageSpan(date(2026, 1, 10), None, "MMO-2026", "low"),)
    assert overlay(cov, ((date(2026, 3, 15), "high"),)) == (
        CoverageSpan(date(2026, 1, 10), date(2026, 3, 31), "MMO-2026", "low"),
        CoverageSpan(date(2026, 4, 1), None, "MMO-2026", "high"))
    assert overlay(cov, ((date(2025, 12, 1), "complex"),)) == (CoverageSpan(date(2026, 1, 10), None, "MMO-2026",
                                                                            "complex"),)
    assert overlay(cov, ()) == cov
