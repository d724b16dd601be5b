"""Outreach reads the computed tier from risk.tiers in a task's priority (PostgreSQL and SQLite)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from services.outreach.adapters.unit_of_work import unit_of_work_factory
from services.outreach.app.maintenance import Maintenance
from services.outreach.routes import ROUTES
from shared.events import RiskTierChangedV1, TierSpan, UtilizationFactors, utcnow

from . import events as ev
from .fakes import RecordingProducer
from .test_handler import CTX, apply, db, staff, tasks_of  # noqa: F401 - fixtures on both backends


def tier_event(member_id: str, history, *, decided: date | None = None, at=None):
    at = at or utcnow()
    return RiskTierChangedV1(
        **RiskTierChangedV1.envelope(occurred_at=at, source="risk", member_id=member_id, event_id=uuid.uuid4()),
        contract_id="MMO-2026", practice_id="P001", effective_date=history[-1][0] if history else at.date(),
        old_tier="low", new_tier=history[-1][1] if history else "low", decided_on=decided or at.date(),
        model="CMS-HCC V28", payment_year=2026, risk_score=3.4,
        utilization=UtilizationFactors(admissions_12m=1, ed_visits_12m=2, readmissions_12m=1, open_gaps=1),
        rule="test", history=tuple(TierSpan(start=d, tier=t) for d, t in history))


def test_a_computed_tier_in_force_raises_the_priority_of_open_tasks_at_once_and_stays_after_the_daily_rescore(
        db, staff):
    assert RiskTierChangedV1 in ROUTES.events()
    m = ev.member("RISK")
    apply(db, staff, [ev.roster(m, risk="low"), ev.gap_opened(m, "CMS130")])
    (before,) = tasks_of(db, m)
    today = utcnow().date()
    apply(db, staff, [tier_event(m, [(today - timedelta(days=today.day - 1), "complex")])])
    (after,) = tasks_of(db, m)
    assert after.priority > before.priority and after.version == before.version
    Maintenance(unit_of_work_factory(db, RecordingProducer()), CTX).rescore_all(today)
    (kept,) = tasks_of(db, m)
    assert kept.priority == after.priority


def test_a_future_tier_does_not_count_yet_and_a_late_older_decision_is_ignored(db, staff):
    m = ev.member("RISK")
    apply(db, staff, [ev.roster(m, risk="low"), ev.gap_opened(m, "CMS130")])
    (before,) = tasks_of(db, m)
    now = utcnow()
    apply(db, staff, [tier_event(m, [(now.date() + timedelta(days=40), "complex")])])
    assert tasks_of(db, m)[0].priority == before.priority
    apply(db, staff, [tier_event(m, [(now.date() - timedelta(days=60), "complex")],
                                 decided=now.date() - timedelta(days=90), at=now - timedelta(days=90))])
    assert tasks_of(db, m)[0].priority == before.priority


def test_the_latest_tier_change_and_what_drove_it_are_kept_for_the_task_page(db, staff):
    from shared.events import HccDriver

    m = ev.member("RISK")
    now = utcnow()
    heart = HccDriver(hcc="226", label="Heart Failure", coefficient=0.36, diagnoses=("I5022",), claim_ids=("CLM-1",))
    apply(db, staff, [ev.roster(m, risk="low"),
                      tier_event(m, [(now.date(), "high")]).model_copy(update={"hccs": (heart,)})])
    late = tier_event(m, [(now.date() - timedelta(days=60), "moderate")], decided=now.date() - timedelta(days=90),
                      at=now - timedelta(days=90))
    apply(db, staff, [late])  # an older decision arriving late replaces nothing
    with unit_of_work_factory(db, RecordingProducer())() as uow:
        change = uow.members.risk_change(m)
        assert uow.members.risk_change("nobody") is None
    assert (change["old_tier"], change["new_tier"], change["decided_on"]) == ("low", "high", now.date().isoformat())
    assert change["hccs"] == [{"hcc": "226", "label": "Heart Failure", "coefficient": 0.36, "diagnoses": ["I5022"],
                               "claim_ids": ["CLM-1"]}]
    assert change["utilization"] == {"admissions_12m": 1, "ed_visits_12m": 2, "readmissions_12m": 1, "open_gaps": 1}
