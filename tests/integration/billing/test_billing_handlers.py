"""Billing's handler on a real PostgreSQL (and on SQLite), in-process (fast): what a batch
posts, what the store holds, statements, month close, month opening and contract reloads."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from services.billing.aggregates import key_balances
from services.billing.commands import (
    close_month, ensure_default_contracts, feed_metric, get_contract, load_contract, statement,
)
from services.billing.contracts import CONTRACTS_DIR
from services.billing.handlers import Billing, MonthClosed
from services.billing.store import BillingDatabase, ledger_entries, member_months, paid_lines

from .billing_inputs import claim, gap, roster


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["postgresql", "sqlite"])
def env(request, tmp_path):
    # the same cases on both backends (PostgreSQL in tests and production, SQLite in the demo)
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'billing.db'}"
    db = BillingDatabase(url, pool_size=2)
    db.create_schema()
    ensure_default_contracts(db, CONTRACTS_DIR)
    clock = Clock(datetime(2026, 4, 15, tzinfo=timezone.utc))
    billing = Billing(open_month_policy="fixed", open_month="2026-04", estimate_interval_s=0, clock=clock)
    sent: list = []
    billing.maintain(db, sent.extend)
    yield db, billing, sent, clock
    db.dispose()


def apply(db, billing, events):
    with db.transaction() as s:
        return billing.handle(s, events)


def amounts(events, account=None):
    return sorted((e.period, e.account, e.rule, e.amount_cents) for e in events if account in (None, e.account))


def test_roster_and_claims_post_fees_costs_and_carve_outs(env):
    db, billing, _, _ = env
    out = apply(db, billing, [
        roster("M1", tier="high", start=date(2026, 2, 14)),
        roster("M2", contract_id="GR-2026", tier="low", start=date(2026, 3, 1)),
        claim("M2", "C1", (("99213", date(2026, 3, 3), "120.00"), ("33510", date(2026, 3, 3), "5000.00"))),
    ])
    assert amounts(out, "pmpm_fee") == [(p, "pmpm_fee", "pmpm:high", 3000) for p in ("2026-02", "2026-03", "2026-04")]
    assert amounts(out, "cost_of_care") == [("2026-03", "cost_of_care", "claim:C1", 12000)]
    assert amounts(out, "carve_out") == [("2026-03", "carve_out", "claim:C1:cardiac_surgery", 500000)]
    assert all(e.entry_id == e.event_id and e.posted_period == e.period and not e.adjustment for e in out)
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(ledger_entries)) == len(out)
        assert s.scalar(select(func.count()).select_from(member_months)) == 3 + 2  # M1 Feb–Apr, M2 Mar–Apr
        assert s.scalar(select(func.sum(paid_lines.c.paid_cents))) == 512000
        gr = statement(s, get_contract(s, "GR-2026"), "2026-03")
        mmo = statement(s, get_contract(s, "MMO-2026"), "2026-02")
    assert gr["member_months"]["member_months"] == "1.0000"  # prorated: all 31 days
    assert gr["cost_of_care"] == {"total": "120.00", "pmpm": "120.00"}
    assert gr["carve_outs"]["by_category"]["cardiac_surgery"] == "5000.00"
    high = next(t for t in mmo["member_months"]["by_tier"] if t["tier"] == "high")
    assert high == {"tier": "high", "members": 1, "member_months": "1.0000", "fee_pmpm": "30.00", "fees": "30.00"}
    assert mmo["ledger"]["by_account"] == {"pmpm_fee": "30.00"}


def test_the_same_events_again_post_nothing(env):
    db, billing, _, _ = env
    events = [roster("M1"), claim("M1", "C1", (("99213", date(2026, 3, 3), "80.00"),))]
    first = apply(db, billing, events)
    assert first
    assert apply(db, billing, events) == []
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(ledger_entries)) == len(first)


def test_a_void_after_close_posts_an_adjustment_in_the_next_open_month(env):
    db, billing, sent, _ = env
    apply(db, billing, [roster("M1"), claim("M1", "C1", (("99214", date(2026, 2, 10), "150.00"),))])
    close_month(db, billing, sent.extend, "MMO-2026", "2026-02", "admin")
    with pytest.raises(MonthClosed):
        close_month(db, billing, sent.extend, "MMO-2026", "2026-02", "admin")
    out = apply(db, billing, [claim("M1", "C1", (), frequency="8", received=date(2026, 4, 2))])
    (void,) = [e for e in out if e.account == "cost_of_care"]
    assert (void.period, void.posted_period, void.adjustment, void.amount_cents) == ("2026-02", "2026-03", True, -15000)
    assert void.reverses is not None
    with db.reader() as s:
        feb = statement(s, get_contract(s, "MMO-2026"), "2026-02")
        mar = statement(s, get_contract(s, "MMO-2026"), "2026-03")
    assert feb["ledger"]["posted_in_period"]["cost_of_care"] == "150.00"  # the closed month's books stay
    assert mar["ledger"]["adjustments"] == [{"period": "2026-02", "account": "cost_of_care", "amount": "-150.00"}]


def test_a_back_dated_termination_reverses_the_months_affected(env):
    db, billing, _, _ = env
    apply(db, billing, [roster("M1", tier="moderate")])
    out = apply(db, billing, [roster("M1", tier="moderate", on=date(2026, 4, 10), end=date(2026, 2, 20),
                                     status="termed")])
    assert amounts(out) == [("2026-03", "pmpm_fee", "pmpm:moderate", -1700), ("2026-04", "pmpm_fee", "pmpm:moderate", -1700)]
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(member_months)) == 2


def test_attribution_history_sets_the_tier_of_each_month(env):
    db, billing, _, _ = env
    history = ((date(2026, 1, 1), "MMO-2026", "low"), (date(2026, 3, 10), "MMO-2026", "complex"))
    out = apply(db, billing, [roster("M1", tier="complex", on=date(2026, 3, 10), history=history)])
    assert amounts(out) == [("2026-01", "pmpm_fee", "pmpm:low", 900), ("2026-02", "pmpm_fee", "pmpm:low", 900),
                            ("2026-03", "pmpm_fee", "pmpm:low", 900), ("2026-04", "pmpm_fee", "pmpm:complex", 10000)]


def test_measure_rates_and_a_fed_metric_drive_the_bonus_estimates(env):
    db, billing, _, _ = env
    apply(db, billing, [roster("M1"), roster("M2")])
    out = apply(db, billing, [gap("M1", "CMS130", "closed", date(2026, 3, 5)), gap("M2", "CMS130", "open", date(2026, 3, 5))])
    # 1 of 2 closed = 0.50: below the first level (0.60), nothing to post
    assert amounts(out, "bonus_estimate") == []
    out = apply(db, billing, [gap("M2", "CMS130", "closed", date(2026, 4, 2))])
    # April: 2/2 = 1.00 reaches the 0.70 level, $1.00 PMPM × 2 member months
    assert amounts(out, "bonus_estimate") == [("2026-04", "bonus_estimate", "bonus:colorectal-screening", 200)]
    feed_metric(db, "MMO-2026", "2026-03", "median_days_to_appointment", "6", "sup")
    sent: list = []
    billing.maintain(db, sent.extend)
    # lump sum $12,000 a year, a twelfth a month, from March on (April has no fed value: none)
    assert amounts(sent, "bonus_estimate") == [("2026-03", "bonus_estimate", "bonus:reasonable-wait-times", 100000)]


def test_a_gap_re_announced_under_another_contract_leaves_the_old_contracts_rate(env):
    db, billing, _, _ = env
    apply(db, billing, [roster("M1"), roster("M2")])
    out = apply(db, billing, [gap("M1", "CMS130", "open", date(2026, 3, 5)), gap("M2", "CMS130", "closed", date(2026, 3, 5))])
    assert amounts(out, "bonus_estimate") == []  # 1 of 2 closed: below the first level
    # M1's gap is announced again under GR-2026 (an event of GR only): MMO's rate is now 1 of 1
    out = apply(db, billing, [gap("M1", "CMS130", "open", date(2026, 4, 2), contract_id="GR-2026")])
    assert amounts(out, "bonus_estimate") == [("2026-04", "bonus_estimate", "bonus:colorectal-screening", 200)]
    with db.reader() as s:
        mmo = statement(s, get_contract(s, "MMO-2026"), "2026-04")
    cms130 = next(b for b in mmo["bonuses"]["rules"] if b["measure"] == "CMS130")
    assert (cms130["numerator"], cms130["denominator"]) == (1, 1)


def test_members_under_an_unknown_contract_are_counted_and_logged_without_member_ids(env, caplog):
    from prometheus_client import REGISTRY

    db, billing, _, _ = env
    contract = f"UNKNOWN-{db.engine.dialect.name}"  # one label per backend: the cases share a process

    def counted() -> float:
        return REGISTRY.get_sample_value("billing_unpriced_member_months_total", {"contract": contract}) or 0.0

    before = counted()
    with caplog.at_level("WARNING", logger="services.billing"):
        out = apply(db, billing, [roster("M-UNPRICED-1", contract_id=contract, start=date(2026, 2, 1)),
                                  roster("M-UNPRICED-2", contract_id=contract, start=date(2026, 3, 1)),
                                  roster("M1")])
    assert {e.contract_id for e in out} == {"MMO-2026"}  # nothing posts under the unknown contract
    assert counted() - before == 3 + 2  # Feb–Apr and Mar–Apr, the open month being April
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(f"5 member month(s) under contract {contract}" in m for m in warned), warned
    assert "M-UNPRICED" not in caplog.text


def test_the_workers_ledger_gauges_follow_a_month_closed_by_another_process(env):
    from services.billing import metrics
    from services.billing.agents import LedgerGauges
    from services.billing.aggregates import account_balances

    db, billing, _, _ = env

    def gauge(account: str) -> float:
        return metrics.ACCRUED.labels("MMO-2026", account)._value.get()

    def net(account: str) -> int:
        with db.reader() as s:
            return sum(v for (c, _, a), v in account_balances(s, "MMO-2026").items() if a == account)

    apply(db, billing, [roster("M1"), roster("M2")])
    gauges = LedgerGauges(db)
    assert gauges.refresh(force=True)
    assert gauge("pmpm_fee") == net("pmpm_fee") == 4 * 2 * 3000
    assert not gauges.refresh()  # nothing closed since: no reload
    # another process (the API, the CLI) closes March, posting an estimate this worker never saw
    feed_metric(db, "MMO-2026", "2026-03", "median_days_to_appointment", "6", "sup")
    other = Billing(open_month_policy="fixed", open_month="2026-04", estimate_interval_s=0)
    posted = close_month(db, other, lambda events: None, "MMO-2026", "2026-03", "admin")
    assert amounts(posted, "bonus_estimate")
    metrics.ACCRUED.labels("MMO-2026", "bonus_estimate").set(0)  # what the worker process holds
    assert gauges.refresh()
    assert gauge("bonus_estimate") == net("bonus_estimate") == 100000
    assert gauge("pmpm_fee") == net("pmpm_fee")


def test_opening_a_month_accrues_it_for_every_member(env):
    db, billing, _, clock = env
    apply(db, billing, [roster("M1"), roster("M2", start=date(2026, 1, 1), end=date(2026, 4, 30))])
    calendar = Billing(open_month_policy="calendar", estimate_interval_s=0, clock=clock)
    clock.now = datetime(2026, 6, 2, tzinfo=timezone.utc)
    sent: list = []
    calendar.maintain(db, sent.extend)
    assert amounts(sent, "pmpm_fee") == [("2026-05", "pmpm_fee", "pmpm:high", 3000), ("2026-06", "pmpm_fee", "pmpm:high", 3000)]
    sent.clear()
    calendar.maintain(db, sent.extend)
    assert sent == []


def test_a_reloaded_contract_re_accrues_every_member(env):
    db, billing, _, _ = env
    apply(db, billing, [roster("M1", tier="high")])
    text = (CONTRACTS_DIR / "mmo-care-coordination-2026.yaml").read_text().replace('high: "30.00"', 'high: "32.00"')
    _, _, changed = load_contract(db, text, source="amended.yaml", user="admin")
    assert changed
    assert load_contract(db, text, source="again.yaml", user="admin")[2] is False
    sent: list = []
    billing.maintain(db, sent.extend)
    assert sum(e.amount_cents for e in sent if e.account == "pmpm_fee") == 4 * 200
    with db.reader() as s:
        fees = {k.period: v for k, v in key_balances(s).items() if k.account == "pmpm_fee"}
    assert fees == {f"2026-0{m}": 3200 for m in range(1, 5)}


def test_a_claim_uses_the_coverage_of_snapshots_stored_by_another_writer_since(env):
    # the worker remembers members' coverage between batches; a snapshot stored by another
    # process in between (a rebalanced partition, a replay) must not leave it stale
    db, billing, _, _ = env
    apply(db, billing, [roster("M1", tier="low")])
    first = apply(db, billing, [claim("M1", "C1", (("99213", date(2026, 3, 3), "80.00"),))])
    assert amounts(first, "cost_of_care") == [("2026-03", "cost_of_care", "claim:C1", 8000)]
    other = Billing(open_month_policy="fixed", open_month="2026-04", estimate_interval_s=0, clock=billing.clock)
    apply(db, other, [roster("M1", tier="low", on=date(2026, 4, 10), end=date(2026, 2, 28), status="termed")])
    out = apply(db, billing, [claim("M1", "C2", (("99213", date(2026, 3, 20), "90.00"),))])
    assert amounts(out, "cost_of_care") == []  # not eligible in March any more


def test_an_idle_maintenance_tick_does_not_wait_for_the_ledger_lock(env):
    """The worker's timer runs every second beside the consumer: with nothing to open, re-accrue
    or settle, it must not queue behind (or hold up) a batch holding the ledger lock; once a
    fact makes a contract dirty, it settles."""
    import threading

    db, billing, sent, _ = env
    apply(db, billing, [roster("M1")])
    billing.maintain(db, sent.extend)  # settles what the roster marked
    holding, release = threading.Event(), threading.Event()

    def batch() -> None:
        with db.transaction():
            holding.set()
            release.wait(10)

    t = threading.Thread(target=batch)
    t.start()
    try:
        assert holding.wait(10)
        done = threading.Event()
        result: list[int] = []
        tick = threading.Thread(target=lambda: (result.append(billing.maintain(db, sent.extend, 1000, False)),
                                                done.set()))
        tick.start()
        assert done.wait(5), "an idle tick waited for the ledger lock"
        assert result == [0]
    finally:
        release.set()
        t.join()
    feed_metric(db, "MMO-2026", "2026-04", "median_days_to_appointment", "6", "sup")
    before = len(sent)
    assert billing.maintain(db, sent.extend, 1000, False) > 0
    assert amounts(sent[before:], "bonus_estimate")


def test_a_correction_before_its_original_is_held_then_applied_and_the_held_row_leaves(env):
    from services.billing.state import held_counts
    from services.billing.store import held_claims

    db, billing, _, _ = env
    apply(db, billing, [roster("M1")])
    # the replacement and a void of another claim arrive first: nothing counts, both are held
    out = apply(db, billing, [claim("M1", "R1", (("99214", date(2026, 3, 3), "80.00"),), frequency="7", original="O1"),
                              claim("M1", "V1", (("99213", date(2026, 3, 4), "5000.00"),), frequency="8", original="O2")])
    assert amounts(out, "cost_of_care") == []
    with db.reader() as s:
        assert held_counts(s) == {"replacement": 1, "void": 1}
        assert {r.names_claim_id for r in s.execute(select(held_claims))} == {"O1", "O2"}
    # the originals arrive: the replacement counts (not the original), the void withdraws its original
    out = apply(db, billing, [claim("M1", "O1", (("99213", date(2026, 3, 3), "60.00"),), received=date(2026, 4, 5)),
                              claim("M1", "O2", (("99213", date(2026, 3, 4), "5000.00"),), received=date(2026, 4, 5))])
    assert amounts(out, "cost_of_care") == [("2026-03", "cost_of_care", "claim:O1", 8000)]
    with db.reader() as s:
        assert held_counts(s) == {"replacement": 0, "void": 0}
        costs = {k.rule: v for k, v in key_balances(s).items() if k.account == "cost_of_care"}
    assert costs == {"claim:O1": 8000}
