"""shared.publishing_uow: the unit of work of a writer that publishes (billing's and outreach's).
On SQLite: the events are confirmed by the broker while the transaction is still open and its
rows invisible to anyone else, the commit comes after, the after-commit callbacks after that and
once; a failed write or a failed commit keeps nothing and runs no callback; database errors
leave as the service's exceptions. The same order is checked on billing's and outreach's units
of work."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, event, insert, select
from sqlalchemy.exc import DataError, OperationalError

from shared.db import open_database, processed_events_table
from shared.publishing_uow import PublishingUnitOfWork


class Refused(Exception):
    pass


class Unavailable(Exception):
    pass


class Uow(PublishingUnitOfWork):
    unusable_value = Refused
    store_unavailable = Unavailable


class Broker:
    """Stands where the producer is: records what it confirmed and what a reader outside the
    transaction saw at that moment (``visible()``)."""

    def __init__(self, visible, log: list, fail: bool = False) -> None:
        self.visible, self.log, self.fail, self.sent = visible, log, fail, []

    def send_sync(self, events):
        if self.fail:
            raise TimeoutError("not confirmed")
        self.log.append(("confirmed", list(events), self.visible()))
        self.sent.extend(events)
        return []


@pytest.fixture
def db(tmp_path):
    metadata = MetaData()
    processed_events_table(metadata)
    Table("t", metadata, Column("n", Integer, primary_key=True))
    database = open_database(f"sqlite:///{tmp_path}/x.db", metadata, pool_size=1)
    outside = create_engine(f"sqlite:///{tmp_path}/x.db")
    table = database.metadata.tables["t"]

    def visible() -> list[int]:
        with outside.connect() as conn:
            return [r[0] for r in conn.execute(select(table.c.n))]

    yield database, table, visible
    outside.dispose()
    database.dispose()


def write(uow, table, n: int, log: list, events=("e1", "e2")) -> None:
    uow.session.execute(insert(table), {"n": n})
    uow.publish(list(events))
    uow.after_commit(lambda: log.append(("after commit", n)))


def test_events_are_confirmed_before_the_commit_and_the_callbacks_run_after_it_once(db):
    database, table, visible = db
    log: list = []
    broker = Broker(visible, log)
    with Uow(database, broker) as uow:
        write(uow, table, 1, log)
        uow.commit()
        log.append(("committed", visible()))
    assert log == [("confirmed", ["e1", "e2"], []),   # confirmed while the row was not committed
                   ("after commit", 1),
                   ("committed", [1])]
    with Uow(database, broker) as uow:   # the next block starts with an empty outbox
        uow.commit()
    assert broker.sent == ["e1", "e2"] and log[-1] == ("committed", [1])


def test_a_write_kafka_does_not_confirm_commits_nothing_and_runs_no_callback(db):
    database, table, visible = db
    log: list = []
    with pytest.raises(TimeoutError):
        with Uow(database, Broker(visible, log, fail=True)) as uow:
            write(uow, table, 2, log)
            uow.commit()
    assert visible() == [] and log == []
    with Uow(database, Broker(visible, log)) as uow:  # the retry
        write(uow, table, 2, log)
        uow.commit()
    assert visible() == [2] and [e for e in log if e[0] == "after commit"] == [("after commit", 2)]


def test_a_commit_that_fails_after_the_confirmation_keeps_nothing_and_runs_no_callback(db):
    database, table, visible = db
    log: list = []
    broker = Broker(visible, log)

    def lost_connection(_session) -> None:
        raise OperationalError("COMMIT", {}, Exception("connection lost"))

    with pytest.raises(Unavailable):
        with Uow(database, broker) as uow:
            write(uow, table, 3, log)
            event.listen(uow.session, "before_commit", lost_connection)
            uow.commit()
    assert broker.sent == ["e1", "e2"]   # Kafka has them: the retry re-sends the same event ids
    assert visible() == [] and [e for e in log if e[0] == "after commit"] == []


def test_events_without_a_producer_are_refused_before_anything_is_committed(db):
    database, table, visible = db
    with pytest.raises(RuntimeError):
        with Uow(database, None) as uow:
            write(uow, table, 4, [])
            uow.commit()
    assert visible() == []
    with Uow(database, None) as uow:  # a unit of work that publishes nothing needs no producer
        uow.session.execute(insert(table), {"n": 4})
        uow.commit()
    assert visible() == [4]


def test_in_the_workers_batch_the_pipeline_publishes(db):
    database, _, _ = db
    with database.transaction() as session:
        uow = Uow.for_session(session)
        with pytest.raises(RuntimeError):
            uow.publish(["e1"])
        with pytest.raises(RuntimeError):
            uow.__enter__()


def test_database_errors_leave_in_the_services_words(db):
    database, _, _ = db
    with pytest.raises(Refused, match="ValueError"):
        with Uow(database):
            raise DataError("INSERT", {}, ValueError("NUL"))
    with pytest.raises(Unavailable, match="OperationalError"):
        with Uow(database):
            raise OperationalError("SELECT", {}, Exception("down"))
    with pytest.raises(KeyError):   # anything else leaves as it came
        with Uow(database):
            raise KeyError("x")


def _billing(tmp_path, broker):
    from services.billing.adapters.database import open_database as billing_database
    from services.billing.adapters.unit_of_work import LedgerLock, SqlUnitOfWork

    database = billing_database(f"sqlite:///{tmp_path}/billing.db", pool_size=1)
    return database, SqlUnitOfWork(LedgerLock(database), broker), lambda u: u.books.set_state("k", "v")


def _outreach(tmp_path, broker):
    from services.outreach.adapters.database import open_database as outreach_database
    from services.outreach.adapters.unit_of_work import SqlUnitOfWork

    database = outreach_database(f"sqlite:///{tmp_path}/outreach.db", pool_size=1)
    at = datetime(2026, 4, 1, tzinfo=timezone.utc)
    return database, SqlUnitOfWork(database, broker), lambda u: u.jobs.start("nightly", at.date(), at)


@pytest.mark.parametrize("service", [_billing, _outreach], ids=["billing", "outreach"])
def test_billing_and_outreach_confirm_before_they_commit_and_count_after(service, tmp_path):
    log: list = []
    uows: list = []
    broker = Broker(lambda: uows[0].session.in_transaction(), log)  # still open when confirmed?
    database, uow, change = service(tmp_path, broker)
    uows.append(uow)
    try:
        with uow:
            change(uow)
            uow.publish(["e1"])
            uow.after_commit(lambda: log.append("after commit"))
            uow.commit()
            log.append("committed")
        assert log == [("confirmed", ["e1"], True), "after commit", "committed"]
    finally:
        database.dispose()
