"""Billing's ledger use cases on the in-memory store (``fakes.py``): no database, no Kafka. A batch
goes through the routes table into one unit of work, as in the worker; the maintenance timer
and the month close run as the worker and the API run them. What a contract manager notices:
the entries posted (amounts and the rule behind each), nothing posted twice for an event seen
again, a termination reversing what it undoes, prorated months, the statement of a closed
month and the adjustment a late void posts after it. The same flows on PostgreSQL and SQLite:
``tests/integration/billing/test_billing_handlers.py``."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest

from services.billing.app import queries
from services.billing.app.commands import feed_metric, load_contract
from services.billing.app.ledger import CannotClose, MonthClosed
from services.billing.app.ports import StoreUnavailable
from services.billing.contracts import CONTRACTS_DIR
from shared.events import RiskTierChangedV1, TierSpan, UtilizationFactors
from tests.unit.billing.billing_factories import claim, gap, line, roster
from tests.unit.billing.fakes import FakeUnitOfWork, FakeWorker, Store

MMO = (CONTRACTS_DIR / "mmo-care-coordination-2026.yaml").read_text()
JAN = ((date(2026, 1, 1), None),)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def billing():
    """A worker over a fresh store with the example contracts, April 2026 open, settling every batch."""
    store = Store()
    worker = FakeWorker(store)
    for name, text in [(p.name, p.read_text()) for p in sorted(CONTRACTS_DIR.glob("*.yaml"))]:
        load_contract(worker.uow, text, source=name, user="system")
    worker.maintain()
    return worker


def amounts(events, account=None):
    return sorted((e.period, e.account, e.rule, e.amount_cents) for e in events if account in (None, e.account))


def balances(worker, account):
    with worker.uow(writer=False) as r:
        return {(k.member_id, k.period, k.rule): v for k, v in r.ledger.key_balances().items() if k.account == account}


def statement(worker, contract_id, period):
    with worker.uow(writer=False) as r:
        return queries.statement(r, queries.get_contract(r, contract_id), period)


def test_roster_and_claims_post_fees_costs_and_carve_outs_with_their_rules(billing):
    out = billing.apply([
        roster("M1", tier="high", spans=((date(2026, 2, 14), None),)),
        roster("M2", contract_id="GR-2026", tier="low", spans=((date(2026, 3, 1), None),)),
        claim("C1", (line(1, "99213", date(2026, 3, 3), "120.00"), line(2, "33510", date(2026, 3, 3), "5000.00")),
              member_id="M2"),
    ])
    assert amounts(out, "pmpm_fee") == [(p, "pmpm_fee", "pmpm:high", 3000) for p in ("2026-02", "2026-03", "2026-04")]
    assert amounts(out, "cost_of_care") == [("2026-03", "cost_of_care", "claim:C1", 12000)]
    assert amounts(out, "carve_out") == [("2026-03", "carve_out", "claim:C1:cardiac_surgery", 500000)]
    assert all(e.entry_id == e.event_id and e.posted_period == e.period and not e.adjustment for e in out)
    # what went to Kafka is what the ledger holds, each entry once
    assert [e.entry_id for e in billing.store.published][-len(out):] == [e.entry_id for e in out]
    assert len(billing.store.entries) == len({p.entry_id for p, _ in billing.store.entries})
    gr = statement(billing, "GR-2026", "2026-03")
    assert gr["member_months"]["member_months"] == "1.0000"
    assert gr["cost_of_care"] == {"total": "120.00", "pmpm": "120.00"}
    assert gr["carve_outs"]["by_category"]["cardiac_surgery"] == "5000.00"
    mmo = statement(billing, "MMO-2026", "2026-02")
    high = next(t for t in mmo["member_months"]["by_tier"] if t["tier"] == "high")
    assert high == {"tier": "high", "members": 1, "member_months": "1.0000", "fee_pmpm": "30.00", "fees": "30.00"}
    assert mmo["ledger"]["by_account"] == {"pmpm_fee": "30.00"}


def test_a_redelivered_event_posts_nothing_twice(billing):
    events = [roster("M1"), claim("C1", (line(1, "99213", date(2026, 3, 3), "80.00"),))]
    first = billing.apply(events)
    assert amounts(first, "cost_of_care") == [("2026-03", "cost_of_care", "claim:C1", 8000)]
    entries = list(billing.store.entries)
    assert billing.apply(events) == []           # the whole batch again
    assert billing.apply([events[1], events[1]]) == []  # the claim twice in one batch
    assert billing.store.entries == entries
    assert balances(billing, "cost_of_care") == {("M1", "2026-03", "claim:C1"): 8000}


def test_a_batch_whose_commit_fails_keeps_nothing_and_its_retry_posts_the_same_entries(billing):
    events = [roster("M1", tier="moderate")]
    store = billing.store
    failing = FakeUnitOfWork(store)
    failing.fail_commit = True
    real, billing.uow = billing.uow, lambda *, writer=True: failing
    with pytest.raises(StoreUnavailable):
        billing.apply(events)
    billing.uow = real
    assert store.entries == [] and store.snapshots == {} and store.months == {}
    sent_before_the_failed_commit = [e.entry_id for e in store.published]
    retried = billing.apply(events)
    # Kafka saw the first attempt's entries: the retry writes the very same ids (readers dedupe)
    assert [e.entry_id for e in retried] == sent_before_the_failed_commit
    assert amounts(retried) == [(f"2026-0{m}", "pmpm_fee", "pmpm:moderate", 1700) for m in range(1, 5)]


def test_a_back_dated_termination_reverses_the_months_it_takes_away(billing):
    posted = billing.apply([roster("M1", tier="moderate")])
    out = billing.apply([roster("M1", tier="moderate", on=date(2026, 4, 10), spans=((date(2026, 1, 1), date(2026, 2, 20)),),
                                status="termed")])
    assert amounts(out) == [("2026-03", "pmpm_fee", "pmpm:moderate", -1700),
                            ("2026-04", "pmpm_fee", "pmpm:moderate", -1700)]
    by_period = {e.period: e.entry_id for e in posted}
    assert all(e.reverses == by_period[e.period] for e in out)
    assert balances(billing, "pmpm_fee") == {("M1", "2026-01", "pmpm:moderate"): 1700,
                                             ("M1", "2026-02", "pmpm:moderate"): 1700}
    with billing.uow(writer=False) as r:
        assert r.rows.contract_months("MMO-2026", "2026-03") == []
        assert [m for m, _, _ in r.rows.contract_months("MMO-2026", "2026-02")] == ["M1"]


def test_a_mid_month_roster_change_prorates_the_month_under_a_prorated_contract(billing):
    prorated = MMO.replace("member_month_rule: any_day", "member_month_rule: prorated", 1)
    assert prorated != MMO
    load_contract(billing.uow, prorated, source="prorated.yaml", user="admin")
    billing.maintain()
    billing.apply([roster("M1", tier="high")])
    # termed on 16 March: March keeps 16 of its 31 days, April none
    out = billing.apply([roster("M1", tier="high", on=date(2026, 3, 20), spans=((date(2026, 1, 1), date(2026, 3, 16)),),
                                status="termed")])
    assert amounts(out) == [("2026-03", "pmpm_fee", "pmpm:high", -3000), ("2026-03", "pmpm_fee", "pmpm:high", 1548),
                            ("2026-04", "pmpm_fee", "pmpm:high", -3000)]  # 30.00 × 16/31 = 15.48
    assert balances(billing, "pmpm_fee")[("M1", "2026-03", "pmpm:high")] == 1548
    # a member joining GR (prorated) on 17 March counts 15/31 of a member month
    billing.apply([roster("M2", contract_id="GR-2026", tier="low", spans=((date(2026, 3, 17), None),))])
    with billing.uow(writer=False) as r:
        (row,) = queries.member_month_rows(r, "GR-2026", "2026-03", limit=10, offset=0)
    assert (row["member_id"], row["eligible_days"], row["days_in_month"]) == ("M2", 15, 31)
    assert statement(billing, "GR-2026", "2026-03")["member_months"]["member_months"] == "0.4839"


def test_closing_a_month_posts_its_estimates_and_a_late_void_posts_an_adjustment_in_the_next_open_month(billing):
    billing.apply([roster("M1"), claim("C1", (line(1, "99214", date(2026, 2, 10), "150.00"),))])
    feed_metric(billing.uow, "MMO-2026", "2026-02", "median_days_to_appointment", "6", "sup")
    closed = billing.close_month("MMO-2026", "2026-02")
    # the month's estimates settle at close: a twelfth of the $12,000 wait-times lump sum
    assert amounts(closed) == [("2026-02", "bonus_estimate", "bonus:reasonable-wait-times", 100000)]
    assert [e.entry_id for e in billing.store.published[-len(closed):]] == [e.entry_id for e in closed]
    feb = statement(billing, "MMO-2026", "2026-02")
    assert feb["ledger"]["posted_in_period"] == {"pmpm_fee": "30.00", "cost_of_care": "150.00",
                                                 "bonus_estimate": "1000.00"}
    with pytest.raises(MonthClosed):
        billing.close_month("MMO-2026", "2026-02")
    with pytest.raises(CannotClose):
        billing.close_month("MMO-2026", "2026-05")  # not open yet
    out = billing.apply([claim("C1", (), frequency="8", received=date(2026, 4, 2))])
    (void,) = [e for e in out if e.account == "cost_of_care"]
    assert (void.period, void.posted_period, void.adjustment, void.amount_cents) == ("2026-02", "2026-03", True, -15000)
    assert statement(billing, "MMO-2026", "2026-02")["ledger"]["posted_in_period"]["cost_of_care"] == "150.00"
    mar = statement(billing, "MMO-2026", "2026-03")
    assert mar["ledger"]["adjustments"] == [{"period": "2026-02", "account": "cost_of_care", "amount": "-150.00"}]


def test_measure_rates_settle_into_bonus_estimates(billing):
    billing.apply([roster("M1"), roster("M2")])
    out = billing.apply([gap("M1", "CMS130", "closed", date(2026, 3, 5)), gap("M2", "CMS130", "open", date(2026, 3, 5))])
    assert amounts(out, "bonus_estimate") == []  # 1 of 2 closed: below the first level (0.60)
    out = billing.apply([gap("M2", "CMS130", "closed", date(2026, 4, 2))])
    # April: 2/2 reaches the 0.70 level, $1.00 PMPM × 2 member months
    assert amounts(out, "bonus_estimate") == [("2026-04", "bonus_estimate", "bonus:colorectal-screening", 200)]
    assert billing.apply([gap("M2", "CMS130", "closed", date(2026, 4, 2))]) == []  # the gap event again
    # the gap reopens: the estimate is reversed, nothing new posted
    out = billing.apply([gap("M2", "CMS130", "open", date(2026, 4, 20))])
    assert amounts(out, "bonus_estimate") == [("2026-04", "bonus_estimate", "bonus:colorectal-screening", -200)]


def test_opening_a_month_accrues_it_for_every_member_once():
    store = Store()
    clock = Clock(datetime(2026, 4, 15, tzinfo=timezone.utc))
    worker = FakeWorker(store, open_month_policy="calendar", open_month=None, clock=clock)
    load_contract(worker.uow, MMO, source="mmo.yaml", user="system")
    worker.maintain()
    worker.apply([roster("M1"), roster("M2", spans=((date(2026, 1, 1), date(2026, 4, 30)),))])
    clock.now = datetime(2026, 6, 2, tzinfo=timezone.utc)
    before = len(store.published)
    assert worker.maintain() == 2
    assert amounts(store.published[before:]) == [("2026-05", "pmpm_fee", "pmpm:high", 3000),
                                                  ("2026-06", "pmpm_fee", "pmpm:high", 3000)]
    assert {e.member_id for e in store.published[before:]} == {"M1"}  # M2's coverage ended in April
    assert worker.maintain() == 0 and len(store.published) == before + 2


def test_a_reloaded_contract_re_accrues_every_member_at_the_new_fee(billing):
    billing.apply([roster("M1", tier="high"), roster("M2", tier="low")])
    raised = MMO.replace('high: "30.00"', 'high: "32.00"', 1)
    assert load_contract(billing.uow, raised, source="amended.yaml", user="admin")[2]
    before = len(billing.store.published)
    billing.maintain()
    moved = billing.store.published[before:]
    assert {e.member_id for e in moved} == {"M1"}  # the low tier's fee did not change
    assert sum(e.amount_cents for e in moved if e.account == "pmpm_fee") == 4 * 200
    assert {p: v for (m, p, _), v in balances(billing, "pmpm_fee").items() if m == "M1"} == {
        f"2026-0{m}": 3200 for m in range(1, 5)}
    assert billing.maintain() == 0  # applied once


def test_a_correction_before_its_original_is_held_then_applied(billing):
    billing.apply([roster("M1")])
    out = billing.apply([claim("R1", (line(1, "99214", date(2026, 3, 3), "80.00"),), frequency="7", original="O1")])
    assert amounts(out, "cost_of_care") == []
    with billing.uow(writer=False) as r:
        assert r.members.held_counts() == {"replacement": 1, "void": 0}
        assert [h["names_claim_id"] for h in r.members.held_rows(None, 10, 0)] == ["O1"]
    out = billing.apply([claim("O1", (line(1, "99213", date(2026, 3, 3), "60.00"),), received=date(2026, 4, 5))])
    assert amounts(out, "cost_of_care") == [("2026-03", "cost_of_care", "claim:O1", 8000)]  # the replacement counts
    with billing.uow(writer=False) as r:
        assert r.members.held_counts() == {"replacement": 0, "void": 0}


def _tier(member_id: str, start: date, tier: str, decided: date):
    at = datetime(decided.year, decided.month, decided.day, tzinfo=timezone.utc)
    return RiskTierChangedV1(
        **RiskTierChangedV1.envelope(occurred_at=at, source="risk", member_id=member_id,
                                     event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"tier:{member_id}:{start}:{tier}:{decided}")),
        contract_id="MMO-2026", practice_id="P001", effective_date=start, old_tier="high", new_tier=tier,
        decided_on=decided, model="CMS-HCC V28", payment_year=2026, risk_score=3.2,
        utilization=UtilizationFactors(admissions_12m=0, ed_visits_12m=0, readmissions_12m=1, open_gaps=0),
        rule="test", history=(TierSpan(start=start, tier=tier),))


def test_a_computed_tier_reprices_the_months_from_its_effective_date_and_an_older_decision_changes_nothing(billing):
    billing.apply([roster("M1", tier="high")])
    out = billing.apply([_tier("M1", date(2026, 4, 1), "complex", date(2026, 3, 20))])
    assert amounts(out) == [("2026-04", "pmpm_fee", "pmpm:complex", 10000), ("2026-04", "pmpm_fee", "pmpm:high", -3000)]
    assert billing.apply([_tier("M1", date(2026, 3, 1), "low", date(2026, 2, 10))]) == []  # decided before
    # a later roster snapshot keeps the computed tier
    again = billing.apply([roster("M1", tier="high", on=date(2026, 4, 2))])
    assert [e for e in again if e.account == "pmpm_fee"] == []
    with billing.uow(writer=False) as r:
        assert r.rows.tiers("MMO-2026", "2026-04") == {"complex": 1}
