"""The worker's batch handler as the consumer pipeline runs it (``ROUTES.handler`` over
``SqlIntakeUnit(session, on_owed=...)``) on PostgreSQL: the projections and the deliveries are
written in the batch's transaction, and the deliveries made owed are reported (metrics, waking the
dispatcher) only after that transaction commits — never for an attempt rolled back, so a retried
batch is counted once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.notifications.adapters import tables as tb
from services.notifications.adapters.database import migrate
from services.notifications.adapters.intake_sql import SqlIntakeUnit
from services.notifications.adapters.secretbox import SecretBox
from services.notifications.adapters.subscriptions_sql import SqlSubscriptionStore, SystemResolver
from services.notifications.app.subscriptions import Limits, Subscriptions
from services.notifications.domain.access import Actor
from services.notifications.domain.endpoints import OutboundPolicy
from services.notifications.routes import ROUTES
from tests.integration.notifications.events import gap_opened, member, now, roster
from tests.support.infra import Databases


@pytest.fixture
def db(postgres_server_url):
    databases = Databases(postgres_server_url)
    database = migrate(databases.new())
    yield database
    database.dispose()
    databases.drop_all()


def subscribe(db) -> None:
    subs = Subscriptions(SqlSubscriptionStore(db, SecretBox.from_setting(None, False)),
                         OutboundPolicy.parse(require_tls=False, ports="*", networks="127.0.0.1/32"),
                         SystemResolver(), Limits())
    subs.create(Actor("ops", frozenset({"ops"})), {
        "channel": "webhook", "endpoint": "http://127.0.0.1:9/hook", "topics": ["care-gap-opened"],
        "practice_id": "P001"}, now())


def deliveries(db) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(tb.deliveries)).scalar_one()


class Boom(Exception):
    pass


def test_deliveries_owed_are_reported_after_the_commit_and_never_for_a_rolled_back_attempt(db):
    subscribe(db)
    reported: list[dict[str, int]] = []
    handle = ROUTES.handler(lambda session: SqlIntakeUnit(session, on_owed=reported.append))
    m = member()
    batch = [roster(m), gap_opened(m)]

    with pytest.raises(Boom), db.transaction() as s:  # the first attempt fails after the handler ran
        assert handle(s, batch) == []
        raise Boom
    assert reported == [] and deliveries(db) == 0

    with db.transaction() as s:  # the retry commits
        handle(s, batch)
        assert reported == []  # not before the commit
    assert reported == [{"care-gap-opened": 1}]
    assert deliveries(db) == 1

    with db.transaction() as s:  # a batch that owes nothing reports nothing
        handle(s, [roster(member())])
    assert reported == [{"care-gap-opened": 1}]
