"""Outreach's use cases on in-memory repositories (``fakes.py``): the worker's batches through the
routes table, the nurse and supervisor commands, the daily jobs and the reads — no broker, no
database. The same behaviours on PostgreSQL and SQLite, and through the real consumer pipeline,
are in tests/integration/outreach."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest
from prometheus_client import REGISTRY

from services.outreach.app import handlers
from services.outreach.app.actors import Actor, TaskNotFound
from services.outreach.app.batch import TaskBatch
from services.outreach.app.commands import Commands
from services.outreach.app.maintenance import Maintenance
from services.outreach.app.ports import StaleTask, StoreUnavailable
from services.outreach.app.queries import Queries
from services.outreach.app.staff import Staff
from services.outreach.domain import PermissionDenied, VersionConflict
from services.outreach.routes import ROUTES
from services.outreach.settings import OutreachSettings
from shared.auth import UserDirectory
from shared.events import utcnow
from tests.integration.outreach import events as ev

from .fakes import FakeUnitOfWork, Store, apply_batch, factory

CTX = OutreachSettings(environment="test").decision_context()


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def staff() -> Staff:
    return Staff(UserDirectory.load(None))


def actor(staff: Staff, user_id: str) -> Actor:
    user = staff.directory.get(user_id)
    return Actor(user, staff.of(user))


def tasks_of(store: Store, member_id: str):
    return sorted((t for t in store.tasks.values() if t.member_id == member_id),
                  key=lambda t: (t.created_at, t.kind, t.reason_key))


def value(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ---------------------------------------------------------------------- the worker's batches
def test_creates_in_one_batch_go_to_the_least_loaded_nurse_in_turn_and_keep_continuity(store, staff):
    members = [ev.member("LL") for _ in range(4)]
    batch = [e for m in members for e in (ev.roster(m), ev.gap_opened(m, "CMS130"))]
    batch.append(ev.gap_opened(members[0], "CMS122"))
    out = apply_batch(store, CTX, staff, batch)
    assert [e.to_status for e in out] == ["open"] * 5
    first = [tasks_of(store, m)[0].assignee for m in members]
    assert sorted(first) == ["nurse.east1", "nurse.east1", "nurse.east2", "nurse.east2"]
    a, b = tasks_of(store, members[0])
    assert a.assignee == b.assignee  # continuity: the member keeps her nurse
    assert store.published == []  # the worker's events go back to the consumer pipeline, not the outbox


def test_an_older_roster_snapshot_changes_nothing(store, staff):
    m = ev.member("OLD")
    t = utcnow()
    apply_batch(store, CTX, staff, [ev.roster(m, pod="pod-west", practice="P002", at=t),
                                    ev.roster(m, pod="pod-east", at=t - timedelta(1))])
    apply_batch(store, CTX, staff, [ev.gap_opened(m)])
    (task,) = tasks_of(store, m)
    assert task.pod == "pod-west"


def test_events_that_changed_a_task_change_nothing_when_applied_again(store, staff):
    m = ev.member("RE")
    first = [ev.roster(m), ev.gap_opened(m), ev.discharge(m)]
    assert [e.to_status for e in apply_batch(store, CTX, staff, first)] == ["open", "open"]
    before = tasks_of(store, m)
    assert apply_batch(store, CTX, staff, first + first) == []
    assert tasks_of(store, m) == before and len(store.transitions) == 2


def test_several_changes_of_one_task_in_a_batch_are_one_write_and_all_kept(store, staff):
    m = ev.member("MULTI")
    apply_batch(store, CTX, staff, [ev.roster(m, at=utcnow() - timedelta(hours=1)), ev.discharge(m)])
    (before,) = tasks_of(store, m)
    old = (utcnow() - timedelta(days=45)).date()
    out = apply_batch(store, CTX, staff, [ev.roster(m, pod="pod-west", practice="P002"), ev.readmission(m, admit=old)])
    (after,) = tasks_of(store, m)
    assert (after.pod, after.status, after.version) == ("pod-west", "open", before.version + 1)
    assert after.readmitted_on == old
    assert [(e.from_status, e.to_status, e.queue) for e in out] == [("open", "open", "quality_nurse:pod-west")]


def test_a_gap_closed_and_opened_again_in_one_batch_gives_one_closed_and_one_open_task(store, staff):
    m = ev.member("RB")
    apply_batch(store, CTX, staff, [ev.roster(m), ev.gap_opened(m, "CMS130")])
    out = apply_batch(store, CTX, staff, [ev.gap_closed(m, "CMS130"),
                                          ev.gap_opened(m, "CMS130", reason="screening lapsed again")])
    assert [(e.from_status, e.to_status) for e in out] == [("open", "done"), (None, "open")]
    assert sorted(t.status for t in tasks_of(store, m)) == ["done", "open"]


def test_a_social_needs_diagnosis_makes_a_referral_with_the_claim_as_evidence(store, staff):
    m = ev.member("SOC")
    apply_batch(store, CTX, staff, [ev.roster(m)])
    apply_batch(store, CTX, staff, [ev.claim(m, ("Z590", "I10"))])
    (task,) = tasks_of(store, m)
    assert (task.kind, task.queue, task.assignee) == ("social", "social_worker:pod-east", "social.east")
    assert [(e.code, e.code_system) for e in task.evidence] == [("Z590", "ICD10CM")]
    assert task.evidence[0].describe().startswith("ICD10CM Z590 on ")
    assert (m, "Z590") in store.diagnoses


def test_a_task_changed_after_the_batch_loaded_it_makes_the_write_stale_and_nothing_is_kept(store, staff):
    m = ev.member("RACE")
    apply_batch(store, CTX, staff, [ev.roster(m), ev.gap_opened(m)])
    (task,) = tasks_of(store, m)
    closed = ev.gap_closed(m)
    uow = FakeUnitOfWork(store)
    with uow:
        work = TaskBatch.starter(CTX, staff)(uow, [closed])  # the batch has read version 1
        claimed = replace(task, status="claimed", version=2)  # a nurse claims it meanwhile
        store.tasks[task.task_id] = uow.working.tasks[task.task_id] = claimed
        handlers.gap_closed(closed, work)
        with pytest.raises(StaleTask):  # the consumer rolls back and decides again
            work.finish()
    assert tasks_of(store, m) == [claimed] and store.transitions[-1].to_status == "open"


def test_counters_count_a_batch_once_it_committed_and_never_a_failed_one(store, staff):
    m = ev.member("CNT")
    created = value("outreach_tasks_created_total", {"kind": "gap"})
    uow = FakeUnitOfWork(store)
    uow.fail_commit = True
    with pytest.raises(StoreUnavailable), uow:
        ROUTES.handler(lambda _s: uow, TaskBatch.starter(CTX, staff))(None, [ev.roster(m), ev.gap_opened(m)])
        uow.commit()
    assert value("outreach_tasks_created_total", {"kind": "gap"}) == created and tasks_of(store, m) == []
    apply_batch(store, CTX, staff, [ev.roster(m), ev.gap_opened(m)])  # the retry
    assert value("outreach_tasks_created_total", {"kind": "gap"}) == created + 1


# ---------------------------------------------------------------------- commands
def test_a_nurse_works_a_task_and_each_change_is_published_audited_and_counted_once(store, staff):
    m = ev.member("CMD")
    apply_batch(store, CTX, staff, [ev.roster(m), ev.gap_opened(m)])
    (task,) = tasks_of(store, m)
    commands = Commands(factory(store), staff, CTX)
    who = actor(staff, task.assignee)
    done = value("outreach_tasks_completed_total", {"kind": "gap", "outcome": "completed"})
    first = value("outreach_time_to_first_contact_seconds_count", {"role": "quality_nurse"})
    commands.claim(who, task.task_id, 1, "test")
    commands.record_attempt(who, task.task_id, 2, "phone", "reached", None, "test")
    commands.record_attempt(who, task.task_id, 3, "phone", "reached", None, "test")  # not a first contact
    with pytest.raises(VersionConflict):
        commands.complete(who, task.task_id, 3, "done", None, "test")  # stale version: nothing committed
    commands.complete(who, task.task_id, 4, "screening booked", None, "test")
    assert value("outreach_tasks_completed_total", {"kind": "gap", "outcome": "completed"}) == done + 1
    assert value("outreach_time_to_first_contact_seconds_count", {"role": "quality_nurse"}) == first + 1
    assert [e.to_status for e in store.published] == ["claimed", "in_progress", "in_progress", "done"]
    assert tasks_of(store, m)[0].status == "done"
    refused = [r for r in store.audit if r["detail"] and "refused" in r["detail"]]
    assert len(refused) == 1 and "VersionConflict" in refused[0]["detail"]


def test_another_pods_task_is_not_found_and_the_refusal_is_audited(store, staff):
    m = ev.member("POD")
    apply_batch(store, CTX, staff, [ev.roster(m, pod="pod-west", practice="P002"), ev.gap_opened(m)])
    (task,) = tasks_of(store, m)
    with pytest.raises(PermissionDenied) as refused:
        Commands(factory(store), staff, CTX).claim(actor(staff, "nurse.east1"), task.task_id, 1, "test")
    assert refused.value.hide
    assert store.published == [] and tasks_of(store, m)[0].status == "open"
    assert store.audit[-1]["detail"].endswith("refused: PermissionDenied")


def test_claim_next_hands_out_the_highest_priority_task_first_and_each_task_once(store):
    dev_only = Staff(UserDirectory.load(None))
    members = [ev.member("CN") for _ in range(3)]
    apply_batch(store, CTX, dev_only, [e for i, m in enumerate(members)
                                       for e in (ev.roster(m, pod="pod-nobody", risk="complex" if i == 0 else "low"),
                                                 ev.gap_opened(m))])
    assert {t.assignee for t in store.tasks.values()} == {None}  # nobody works pod-nobody: unassigned
    admin = actor(dev_only, "admin")
    worker = Actor(admin.user, replace(admin.staff, access="nurse", roles=frozenset({"quality_nurse"}),
                                       pods=frozenset({"pod-nobody"})))
    commands = Commands(factory(store), dev_only, CTX)
    got = [commands.claim_next(worker, None, "test") for _ in range(4)]
    assert got[0].member_id == members[0]  # the complex-risk member's task scores highest
    assert got[3] is None and len({t.task_id for t in got[:3]}) == 3


# ---------------------------------------------------------------------- daily jobs
def test_the_daily_sweep_cancels_tasks_of_members_whose_eligibility_ran_out_once_a_day(store, staff):
    today = utcnow().astimezone(CTX.tz).date()
    leaving, staying = ev.member("ELIG"), ev.member("STAY")
    apply_batch(store, CTX, staff, [ev.roster(leaving, end=today), ev.gap_opened(leaving), ev.discharge(leaving),
                                    ev.roster(staying), ev.gap_opened(staying)])
    tomorrow = today + timedelta(days=1)
    jobs = Maintenance(factory(store), CTX, now=lambda: datetime.combine(tomorrow, time(12), CTX.tz))
    assert jobs.eligibility_sweep(tomorrow) == 2
    assert {t.status for t in tasks_of(store, leaving)} == {"cancelled"}
    assert [e.to_status for e in store.published] == ["cancelled", "cancelled"]
    assert {t.status for t in tasks_of(store, staying)} == {"open"}
    assert jobs.eligibility_sweep(tomorrow) is None  # once a day


def test_the_daily_rescore_moves_priorities_with_the_calendar_without_a_new_version(store, staff):
    m = ev.member("RS")
    apply_batch(store, CTX, staff, [ev.roster(m), ev.gap_opened(m, "CMS130")])
    (task,) = tasks_of(store, m)
    jobs = Maintenance(factory(store), CTX)
    assert jobs.rescore_all(task.due_date) == 1
    (after,) = tasks_of(store, m)
    assert after.priority > task.priority and after.version == task.version
    assert jobs.rescore_all(task.due_date) is None


# ---------------------------------------------------------------------- reads
def test_a_task_detail_explains_itself_and_its_read_is_audited(store, staff):
    m = ev.member("DET")
    apply_batch(store, CTX, staff, [ev.roster(m), ev.gap_opened(m, "CMS130"), ev.discharge(m)])
    task = next(t for t in tasks_of(store, m) if t.kind == "gap")
    queries = Queries(factory(store), staff, CTX)
    detail = queries.task_detail(actor(staff, task.assignee), task.task_id, "test")
    assert detail.task == task and detail.member["member_id"] == m
    assert [g["measure_id"] for g in detail.open_gaps] == ["CMS130"]
    assert [e["kind"] for e in detail.encounters] == ["discharge"]
    assert detail.score.lines and store.audit[-1]["member_id"] == m
    with pytest.raises(TaskNotFound):
        queries.task_detail(actor(staff, task.assignee), ev.uuid.uuid4(), "test")
