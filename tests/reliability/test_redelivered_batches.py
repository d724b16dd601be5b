"""Redelivery makes batches bigger: after a crash a worker gets its backlog in one batch, so a
batch may hold changes that usually arrive in separate batches. Each handler must give the same
result for a sequence of events whether they come one per batch or all in one.

Found by the crash runs (tests/reliability/test_crash_cycles.py): a member's gap closed and
opened again within one outreach batch made the worker insert the new task while the closed one
still held the open-task key (ux_tasks_open_key): an IntegrityError on every retry, the worker
exiting and restarting on the same batch for ever.
"""

from __future__ import annotations

import pytest

from services.outreach.adapters.database import open_database
from services.outreach.adapters.unit_of_work import SqlUnitOfWork
from services.outreach.app.staff import Staff
from services.outreach.settings import OutreachSettings
from shared.auth import load_directory
from tests.integration.outreach import events as ev

CTX = OutreachSettings(environment="test").decision_context()


@pytest.fixture
def outreach_db(pg_url):
    db = open_database(pg_url)
    yield db
    db.dispose()


def apply(db, events):
    return ev.apply_events(db, CTX, Staff(load_directory(None, "development")), events)


def tasks(db, member_id):
    with db.transaction() as s:
        return SqlUnitOfWork.for_session(s).tasks.of_members([member_id])[member_id]


@pytest.mark.parametrize("one_batch", [False, True], ids=["one event per batch", "all in one batch"])
def test_gap_closed_and_reopened_gives_one_closed_and_one_open_task_however_batched(outreach_db, one_batch):
    m = ev.member("RB")
    apply(outreach_db, [ev.roster(m), ev.gap_opened(m, "CMS130")])
    later = [ev.gap_closed(m, "CMS130"), ev.gap_opened(m, "CMS130", reason="screening lapsed again")]
    if one_batch:
        out = apply(outreach_db, later)
    else:
        out = [e for batch in ([x] for x in later) for e in apply(outreach_db, batch)]
    assert [(e.from_status, e.to_status) for e in out] == [("open", "done"), (None, "open")]
    got = sorted((t.status, t.key) for t in tasks(outreach_db, m))
    assert got == [("done", f"{m}|gap|CMS130"), ("open", f"{m}|gap|CMS130")]
