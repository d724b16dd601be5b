"""Billing's routes table: one use case per consumed (topic, event type), on the six topics the
ledger reads, and the worker dispatches through it (the API/worker import split is checked for
every service in the shape by ``tests/unit/test_entry_points.py``)."""

from __future__ import annotations

from tests.unit.test_entry_points import loaded_after


def test_the_worker_dispatches_through_the_routes_table():
    modules = loaded_after("from services.billing.worker import build_worker")
    assert "faust" in modules and "services.billing.routes" in modules


def test_the_routes_table_names_one_use_case_per_consumed_event_type():
    from services.billing.routes import ROUTES

    rows = ROUTES.table()
    assert len({(topic, event) for topic, event, _ in rows}) == len(rows)
    assert {topic for topic, _, _ in rows} == {"members.roster", "claims.events", "gaps.events", "care.transitions",
                                               "outreach.tasks", "risk.tiers"}
    assert all(use_case.startswith("services.billing.app.handlers.") for _, _, use_case in rows)
