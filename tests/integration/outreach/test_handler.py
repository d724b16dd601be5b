"""The SQL adapters under the use cases, in-process, on PostgreSQL and on SQLite (the demo's
default): the worker's batches through the routes table and the consumer pipeline (assignment,
redelivery, concurrent changes), the daily jobs (eligibility sweep, rescore, gauges), claim next
and the commands' counters. Kafka is replaced by a recording producer (the subprocess tests use
the real one); ``tests/unit/outreach`` runs the same use cases on in-memory repositories."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from services.outreach.adapters.database import open_database
from services.outreach.adapters.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from services.outreach.app.actors import Actor
from services.outreach.app.batch import TaskBatch
from services.outreach.app.commands import Commands
from services.outreach.app.maintenance import Maintenance
from services.outreach.app.staff import Staff
from services.outreach.domain import VersionConflict
from services.outreach.routes import ROUTES
from services.outreach.settings import OutreachSettings
from shared import codec
from shared.auth import UserDirectory
from shared.consumer import BatchConsumer, Record
from shared.events import utcnow

from . import events as ev
from .conftest import LOAD_NURSES, LOAD_POD, write_users_file
from .events import apply_events
from .fakes import RecordingProducer

SETTINGS = OutreachSettings(environment="test")
CTX = SETTINGS.decision_context()


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path}/o.db"
    database = open_database(url, pool_size=8)
    yield database
    database.dispose()


@pytest.fixture
def staff(tmp_path) -> Staff:
    return Staff(UserDirectory.load(write_users_file(tmp_path / "users.yaml")))


def apply(db, staff, events):
    return apply_events(db, CTX, staff, events)


def pipeline(db, staff, producer, unit_of_work=SqlUnitOfWork.for_session, **kwargs) -> BatchConsumer:
    """The worker's consumer pipeline over the routes table (what ``worker.py`` builds)."""
    return BatchConsumer.for_routes(ROUTES, db, producer, unit_of_work, begin=TaskBatch.starter(CTX, staff), **kwargs)


def tasks_of(db, member_id):
    with db.transaction() as s:
        return sorted(SqlUnitOfWork.for_session(s).tasks.of_members([member_id])[member_id],
                      key=lambda t: (t.created_at, t.kind, t.reason_key))


def records(events):
    out = []
    for i, e in enumerate(events):
        key, value, headers = codec.encode(e)
        out.append(Record(e.TOPIC, 0, i, key, value, headers))
    return out


def test_creates_in_one_batch_go_to_the_least_loaded_nurse_in_turn_and_keep_continuity(db, staff):
    members = [ev.member("LL") for _ in range(4)]
    batch = [e for m in members for e in (ev.roster(m), ev.gap_opened(m, "CMS130"))]
    batch.append(ev.gap_opened(members[0], "CMS122"))
    out = apply(db, staff, batch)
    assert [e.to_status for e in out] == ["open"] * 5
    first = [tasks_of(db, m)[0].assignee for m in members]
    assert sorted(first) == ["nurse.east1", "nurse.east1", "nurse.east2", "nurse.east2"]
    a, b = tasks_of(db, members[0])
    assert a.assignee == b.assignee  # continuity: the member keeps her nurse


def test_an_older_roster_snapshot_is_ignored(db, staff):
    m = ev.member("OLD")
    t = utcnow()
    apply(db, staff, [ev.roster(m, pod="pod-west", practice="P002", at=t), ev.roster(m, pod="pod-east", at=t - timedelta(1))])
    apply(db, staff, [ev.gap_opened(m)])
    (task,) = tasks_of(db, m)
    assert task.pod == "pod-west"


def test_redelivered_batches_change_nothing_even_events_that_changed_nothing(db, staff):
    m = ev.member("RE")
    producer = RecordingProducer()
    consumer = pipeline(db, staff, producer)
    first = [ev.roster(m), ev.gap_opened(m), ev.discharge(m), ev.gap_closed(m, "CMS125")]  # the last: no task
    consumer.process_sync(records(first))
    assert [e.to_status for e in producer.sent] == ["open", "open"]
    before = tasks_of(db, m)
    consumer.process_sync(records(first + first))
    assert len(producer.sent) == 2 and tasks_of(db, m) == before
    # the task that exists now must not be closed by the old, redelivered gap.closed
    consumer.process_sync(records([ev.gap_opened(m, "CMS125"), first[3]]))
    assert {t.reason_key: t.status for t in tasks_of(db, m) if t.kind == "gap"} == {"CMS130": "open",
                                                                                    "CMS125": "open"}


def test_a_nurse_change_between_load_and_write_makes_the_batch_decide_again(pg_url, staff):
    db = open_database(pg_url)
    m = ev.member("RACE")
    apply(db, staff, [ev.roster(m), ev.gap_opened(m)])
    (task,) = tasks_of(db, m)
    bumped = threading.Event()

    def interleaved(session):
        uow = SqlUnitOfWork.for_session(session)
        load = uow.tasks.of_members

        def of_members(member_ids):
            loaded = load(member_ids)
            if not bumped.is_set():
                bumped.set()  # a nurse claims the task while the batch is deciding
                with db.engine.begin() as conn:
                    conn.execute(text("UPDATE tasks SET status='claimed', version=2 WHERE task_id=:t"),
                                 {"t": str(task.task_id)})
            return loaded

        uow.tasks.of_members = of_members
        return uow

    producer = RecordingProducer()
    consumer = pipeline(db, staff, producer, interleaved, backoff_s=0.01)
    consumer.process_sync(records([ev.gap_closed(m)]))
    (after,) = tasks_of(db, m)
    assert (after.status, after.version) == ("done", 3)
    assert [(e.from_status, e.to_status) for e in producer.sent] == [("claimed", "done")]
    db.dispose()


def test_the_daily_sweep_cancels_tasks_of_members_whose_eligibility_ran_out(db, staff):
    today = utcnow().astimezone(CTX.tz).date()
    leaving, staying = ev.member("ELIG"), ev.member("STAY")
    apply(db, staff, [ev.roster(leaving, end=today), ev.gap_opened(leaving), ev.discharge(leaving),
                      ev.roster(staying), ev.gap_opened(staying)])
    tomorrow = today + timedelta(days=1)
    producer = RecordingProducer()
    jobs = Maintenance(unit_of_work_factory(db, producer), CTX, now=lambda: datetime.combine(tomorrow, time(12), CTX.tz))
    assert jobs.eligibility_sweep(tomorrow) == 2
    assert {t.status for t in tasks_of(db, leaving)} == {"cancelled"}
    assert {t.outcome for t in tasks_of(db, leaving)} == {f"member not eligible on {tomorrow.isoformat()}"}
    assert [e.to_status for e in producer.sent] == ["cancelled", "cancelled"]
    assert {t.status for t in tasks_of(db, staying)} == {"open"}
    assert jobs.eligibility_sweep(tomorrow) is None  # once a day


def test_the_daily_rescore_moves_priorities_with_the_calendar(db, staff):
    m = ev.member("RS")
    apply(db, staff, [ev.roster(m), ev.gap_opened(m, "CMS130")])
    (task,) = tasks_of(db, m)
    jobs = Maintenance(unit_of_work_factory(db, None), CTX)
    assert jobs.rescore_all(task.due_date) == 1  # due today: more points than "due in 10 business days"
    (after,) = tasks_of(db, m)
    assert after.priority > task.priority and after.version == task.version
    assert jobs.rescore_all(task.due_date) is None


def test_gauges_count_open_and_overdue_tasks_per_queue(db, staff):
    m = ev.member("G")
    long_ago = utcnow() - timedelta(days=60)
    apply(db, staff, [ev.roster(m, pod="pod-south", practice="P004", at=long_ago),
                      ev.gap_opened(m, "CMS122", at=long_ago), ev.gap_opened(m, "CMS130")])
    Maintenance(unit_of_work_factory(db, None), CTX).refresh_gauges(utcnow().astimezone(CTX.tz).date())
    value = REGISTRY.get_sample_value
    assert value("outreach_tasks_open", {"queue": "quality_nurse:pod-south", "status": "open"}) == 2
    assert value("outreach_tasks_overdue", {"queue": "quality_nurse:pod-south"}) == 1


def test_claim_next_in_parallel_hands_out_distinct_tasks_highest_priority_first(db, staff, tmp_path):
    dev_only = Staff(UserDirectory.load(None))  # nobody works pod-load yet: the tasks stay unassigned
    members = [ev.member("CN") for _ in range(2 * LOAD_NURSES)]
    apply(db, dev_only, [e for i, m in enumerate(members)
                         for e in (ev.roster(m, pod=LOAD_POD, risk="complex" if i == 0 else "low"),
                                   ev.gap_opened(m))])
    commands = Commands(unit_of_work_factory(db, RecordingProducer()), staff, CTX)
    actors = [Actor(u, staff.of(u)) for u in (staff.directory.get(f"nurse.load{i}") for i in range(LOAD_NURSES))]
    first = commands.claim_next(actors[0], None, "test")
    assert first.member_id == members[0]  # the complex-risk member's task scores highest
    barrier = threading.Barrier(LOAD_NURSES)

    def grab(actor):
        barrier.wait()
        return [commands.claim_next(actor, None, "test") for _ in range(2)]

    with ThreadPoolExecutor(LOAD_NURSES) as pool:
        got = [t for pair in pool.map(grab, actors) for t in pair]
    claimed = [t for t in got if t is not None]
    assert len(claimed) == len(members) - 1 and len({t.task_id for t in claimed}) == len(claimed)
    assert got.count(None) == 1
    assert commands.claim_next(actors[1], None, "test") is None


def test_a_gap_key_too_long_to_store_is_dead_lettered_and_the_batch_goes_on(db, staff):
    m = ev.member("LONG")
    bad = ev.gap_opened(m).model_copy(update={"gap_key": "x" * 1000})
    producer = RecordingProducer()
    consumer = pipeline(db, staff, producer, backoff_s=0.01)
    consumer.process_sync(records([ev.roster(m), bad, ev.gap_opened(m, "CMS122")]))
    assert [t.reason_key for t in tasks_of(db, m)] == ["CMS122"]
    assert len(producer.raw) == 1 and producer.raw[0].topic.endswith("gaps.events.dlq")


def test_several_changes_of_one_task_in_a_batch_are_all_kept(db, staff):
    m = ev.member("MULTI")
    apply(db, staff, [ev.roster(m, at=utcnow() - timedelta(hours=1)), ev.discharge(m)])
    (before,) = tasks_of(db, m)
    # one batch: the member moves pod (the open TCM task follows her), then a readmission marks it
    # (one too old to change the score: the mark must be kept all the same)
    old = (utcnow() - timedelta(days=45)).date()
    out = apply(db, staff, [ev.roster(m, pod="pod-west", practice="P002"), ev.readmission(m, admit=old)])
    (after,) = tasks_of(db, m)
    assert (after.pod, after.status, after.version) == ("pod-west", "open", before.version + 1)
    assert after.readmitted_on == old
    assert [(e.from_status, e.to_status, e.queue) for e in out] == [("open", "open", "quality_nurse:pod-west")]


def test_counters_count_committed_work_only(db, staff):
    m = ev.member("CNT")
    apply(db, staff, [ev.roster(m), ev.gap_opened(m)])
    (task,) = tasks_of(db, m)
    producer = RecordingProducer()
    commands = Commands(unit_of_work_factory(db, producer), staff, CTX)
    nurse = staff.directory.get(task.assignee)
    who = Actor(nurse, staff.of(nurse))
    value = REGISTRY.get_sample_value
    done_before = value("outreach_tasks_completed_total", {"kind": "gap", "outcome": "completed"}) or 0
    first_before = value("outreach_time_to_first_contact_seconds_count", {"role": "quality_nurse"}) or 0
    commands.claim(who, task.task_id, 1, "test")
    commands.record_attempt(who, task.task_id, 2, "phone", "reached", None, "test")
    commands.record_attempt(who, task.task_id, 3, "phone", "reached", None, "test")  # not a first contact
    with pytest.raises(VersionConflict):
        commands.complete(who, task.task_id, 3, "done", None, "test")  # stale version: nothing committed
    commands.complete(who, task.task_id, 4, "screening booked", None, "test")
    assert value("outreach_tasks_completed_total", {"kind": "gap", "outcome": "completed"}) == done_before + 1
    assert value("outreach_time_to_first_contact_seconds_count", {"role": "quality_nurse"}) == first_before + 1
    assert [e.to_status for e in producer.sent] == ["claimed", "in_progress", "in_progress", "done"]
