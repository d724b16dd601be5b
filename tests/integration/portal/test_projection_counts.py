"""The worker's batch on PostgreSQL through the routes table and the SQL unit of work: the
projection is written in the consumer's transaction and its events are counted once that
transaction committed — a batch rolled back (and delivered again) counts once."""

from __future__ import annotations

from prometheus_client import REGISTRY

from services.portal.adapters.database import open_database
from services.portal.adapters.unit_of_work import SqlUnitOfWork
from services.portal.routes import ROUTES
from tests.unit.portal import events as ev


def applied(event_type: str) -> float:
    return REGISTRY.get_sample_value("portal_projection_events_total", {"event_type": event_type}) or 0.0


def test_a_batch_counts_once_it_committed_and_a_rolled_back_one_counts_nothing(pg_url):
    db = open_database(pg_url, pool_size=1)
    try:
        handle = ROUTES.handler(SqlUnitOfWork.for_session)
        batch = [ev.roster("MC1"), ev.gap_opened("MC1")]
        before = applied("roster.member"), applied("gap.opened")
        try:
            with db.transaction() as session:
                handle(session, batch)
                raise RuntimeError("the transaction did not commit")
        except RuntimeError:
            pass
        assert (applied("roster.member"), applied("gap.opened")) == before
        with db.transaction() as session:
            assert SqlUnitOfWork.for_session(session).members.get("MC1") is None     # nothing of it was kept
            handle(session, batch)
        assert (applied("roster.member"), applied("gap.opened")) == (before[0] + 1, before[1] + 1)
        with db.transaction() as session:
            assert SqlUnitOfWork.for_session(session).members.get("MC1").member_id == "MC1"
    finally:
        db.dispose()
