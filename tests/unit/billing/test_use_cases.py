"""Billing's command use cases (``app/commands.py``) on in-memory books (``fakes.py``): no database,
no Kafka. What a contract manager and the worker notice: a load of the same terms changes nothing,
changed terms are kept as a new load and mark the contract's estimates for recomputing, a fed
metric is checked before anything is stored, and a commit that fails keeps nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.billing.app.commands import ensure_default_contracts, feed_metric, load_contract
from services.billing.app.ports import StoreUnavailable
from services.billing.contracts import CONTRACTS_DIR
from services.billing.domain import ContractError
from tests.unit.billing.fakes import FakeUnitOfWork, Store, uow_factory

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=timezone.utc)
MMO = (CONTRACTS_DIR / "mmo-care-coordination-2026.yaml").read_text()
EXAMPLES = [(p.name, p.read_text()) for p in sorted(CONTRACTS_DIR.glob("*.yaml"))]


def test_loading_the_same_terms_again_stores_nothing_and_marks_nothing():
    store = Store()
    uow = uow_factory(store)
    contract, seq, changed = load_contract(uow, MMO, source="mmo.yaml", user="admin", now=lambda: NOW)
    assert changed and seq == 1 and contract.contract_id == "MMO-2026"
    assert store.dirty == {"MMO-2026": contract.first_period()}
    store.dirty.clear()

    _, seq_again, changed_again = load_contract(uow, MMO, source="again.yaml", user="admin", now=lambda: NOW)
    assert (seq_again, changed_again) == (1, False)
    assert len(store.loads) == 1 and store.dirty == {}


def test_changed_terms_are_a_new_load_in_force_and_mark_the_contract_dirty_from_its_first_month():
    store = Store()
    uow = uow_factory(store)
    load_contract(uow, MMO, source="mmo.yaml", user="admin", now=lambda: NOW)
    store.dirty.clear()
    raised = MMO.replace('complex: "100.00"', 'complex: "105.00"', 1)
    assert raised != MMO, "the example's complex fee moved; pick another term to change"

    contract, seq, changed = load_contract(uow, raised, source="raised.yaml", user="admin", now=lambda: NOW)
    assert changed and seq == 2
    assert store.dirty == {"MMO-2026": contract.first_period()}
    assert store.loads[-1]["source"] == "raised.yaml"
    assert store.commits == 2


def test_a_contract_with_problems_is_refused_and_nothing_is_stored():
    store = Store()
    with pytest.raises(ContractError):
        load_contract(uow_factory(store), MMO.replace("any_day", "some_days", 1), source="bad.yaml", user="admin")
    assert store.loads == [] and store.commits == 0


def test_the_examples_are_loaded_only_when_no_contract_is():
    store = Store()
    loaded = ensure_default_contracts(uow_factory(store), EXAMPLES)
    assert sorted(loaded) == ["GR-2026", "MMO-2026"]
    assert ensure_default_contracts(uow_factory(store), EXAMPLES) == []
    assert len(store.loads) == 2


def test_a_fed_metric_must_be_a_finite_number_and_a_bad_one_stores_nothing():
    store = Store()
    uow = uow_factory(store)
    for bad in ("abc", "NaN", "Infinity"):
        with pytest.raises(ContractError):
            feed_metric(uow, "MMO-2026", "2026-03", "median_days_to_appointment", bad, "supervisor")
    with pytest.raises(ValueError):
        feed_metric(uow, "MMO-2026", "2026-3", "median_days_to_appointment", "6", "supervisor")
    assert store.metrics == {} and store.dirty == {} and store.commits == 0

    feed_metric(uow, "MMO-2026", "2026-03", "median_days_to_appointment", "6.5", "supervisor", now=lambda: NOW)
    feed_metric(uow, "MMO-2026", "2026-05", "median_days_to_appointment", "7", "supervisor", now=lambda: NOW)
    assert [(r["period"], r["value"]) for r in FakeUnitOfWork(store).facts.fed_metric_rows("MMO-2026")] == [
        ("2026-03", "6.5"), ("2026-05", "7")]
    assert store.dirty == {"MMO-2026": "2026-03"}  # the earliest period whose facts changed


def test_a_load_whose_commit_fails_keeps_nothing_and_can_be_retried():
    store = Store()
    failing = FakeUnitOfWork(store)
    failing.fail_commit = True
    with pytest.raises(StoreUnavailable):
        load_contract(lambda *, writer=True: failing, MMO, source="mmo.yaml", user="admin", now=lambda: NOW)
    assert store.loads == [] and store.dirty == {} and store.commits == 0

    _, seq, changed = load_contract(uow_factory(store), MMO, source="mmo.yaml", user="admin", now=lambda: NOW)
    assert (seq, changed) == (1, True) and store.commits == 1
