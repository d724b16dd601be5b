"""Tasks from events through the running worker (real Kafka, real PostgreSQL, the worker as a
subprocess started as a user starts it)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx

from shared.events import derive_id

from . import events as ev
from .conftest import topic_messages, wait_rows
from tests.support.procs import wait_for

TASK_SQL = ("SELECT task_id, kind, queue, status, assignee, outcome, due_date, priority, version, readmitted_on "
            "FROM tasks WHERE member_id = :m ORDER BY created_at, task_id")


def lifecycle(outreach_env, member_id: str, predicate):
    msgs = topic_messages(outreach_env, "outreach.tasks",
                          lambda ms: predicate([json.loads(m.value()) for m in ms if m.key() == member_id.encode()]))
    return [json.loads(m.value()) for m in msgs if m.key() == member_id.encode()]


def test_gap_opened_makes_a_task_in_the_members_queue_and_gap_closed_finishes_it(outreach_env, worker):
    m = ev.member("GAP")
    outreach_env.enroll(ev.roster(m, pod="pod-west", practice="P002"))
    outreach_env.produce([ev.gap_opened(m, "CMS130")])
    (task,) = wait_rows(outreach_env, TASK_SQL, 1, m=m)
    assert task.kind == "gap" and task.status == "open"
    assert task.queue == "quality_nurse:pod-west"
    assert task.assignee in {"nurse.west1", "nurse.west2"}

    outreach_env.produce([ev.gap_closed(m, "CMS130", claim_id="CLM-7781")])
    done = wait_for(lambda: (r := outreach_env.rows(TASK_SQL, m=m)) and r[0].status == "done" and r[0], 30,
                    what="task closed by the gap")
    assert "gap closed by claim CLM-7781" in done.outcome and "CPT 45378" in done.outcome

    events = lifecycle(outreach_env, m, lambda es: len(es) >= 2)
    assert [(e["from_status"], e["to_status"]) for e in events] == [(None, "open"), ("open", "done")]
    assert events[1]["outcome"] == done.outcome and events[1]["actor"] == "system"
    # deterministic ids: a replay writes the same ids, downstream dedupes them
    assert events[0]["event_id"] == str(derive_id(uuid.UUID(task.task_id), "lifecycle:v1"))
    assert events[1]["event_id"] == str(derive_id(uuid.UUID(task.task_id), "lifecycle:v2"))


def test_discharge_makes_a_tcm_task_and_a_readmission_raises_its_priority(outreach_env, worker):
    m = ev.member("TCM")
    due = (ev.now() + timedelta(days=3)).date()
    outreach_env.enroll(ev.roster(m, risk="low"))
    outreach_env.produce([ev.discharge(m, contact_due=due)])
    (task,) = wait_rows(outreach_env, TASK_SQL, 1, m=m)
    assert task.kind == "tcm" and task.queue == "quality_nurse:pod-east"
    assert task.due_date == due
    before = task.priority

    outreach_env.produce([ev.readmission(m)])
    after = wait_for(lambda: (r := outreach_env.rows(TASK_SQL, m=m)) and r[0].readmitted_on and r[0], 30,
                     what="readmission mark")
    assert after.priority > before, (before, after.priority)
    assert after.version == task.version, "a reprioritize must not make a nurse's action in flight fail"


def test_a_termed_member_has_her_open_tasks_cancelled_and_older_snapshots_are_ignored(outreach_env, worker):
    m = ev.member("TERM")
    t0 = ev.now() - timedelta(hours=3)
    outreach_env.enroll(ev.roster(m, at=t0))
    outreach_env.produce([ev.gap_opened(m, "CMS130"), ev.gap_opened(m, "CMS122")])
    wait_rows(outreach_env, TASK_SQL, 2, m=m)
    outreach_env.produce([ev.roster(m, status="termed", at=t0 + timedelta(hours=1))])
    rows = wait_for(lambda: (r := outreach_env.rows(TASK_SQL, m=m)) and all(x.status == "cancelled" for x in r) and r,
                    30, what="tasks cancelled")
    assert {r.outcome for r in rows} == {"member left the roster"}

    # A late, older snapshot (active) must not bring the member back: a new gap makes no task.
    late = [ev.roster(m, at=t0 + timedelta(minutes=30)), ev.gap_opened(m, "CMS125")]
    outreach_env.produce(late)
    wait_for(lambda: outreach_env.scalar("SELECT count(*) FROM processed_events WHERE event_id IN (:a, :b)",
                                         a=str(late[0].event_id), b=str(late[1].event_id)) == 2, 30,
             what="late events applied")
    assert outreach_env.scalar("SELECT status FROM member_profiles WHERE member_id = :m", m=m) == "termed"
    assert len(outreach_env.rows(TASK_SQL, m=m)) == 2


def test_a_social_needs_diagnosis_on_a_claim_makes_a_social_worker_task(outreach_env, worker):
    m = ev.member("SOC")
    outreach_env.enroll(ev.roster(m))
    outreach_env.produce([ev.claim(m, ("Z590", "I10"))])
    (task,) = wait_rows(outreach_env, TASK_SQL, 1, m=m)
    assert task.kind == "social" and task.queue == "social_worker:pod-east"
    assert task.assignee == "social.east"


def test_redelivered_events_change_nothing(outreach_env, worker):
    m = ev.member("DUP")
    batch = [ev.roster(m), ev.gap_opened(m, "CMS130"), ev.discharge(m), ev.gap_opened(m, "CMS165")]
    outreach_env.produce(batch)
    wait_rows(outreach_env, TASK_SQL, 3, m=m)
    tasks_before = outreach_env.rows(TASK_SQL, m=m)
    transitions_before = outreach_env.scalar(
        "SELECT count(*) FROM task_transitions tt JOIN tasks t ON t.task_id = tt.task_id WHERE t.member_id = :m", m=m)
    lifecycle(outreach_env, m, lambda es: len(es) >= 3)

    outreach_env.produce(batch)  # every event delivered a second time, same ids
    outreach_env.produce([ev.gap_opened(m, "CMS125")])  # same partition: applied after the duplicates
    wait_rows(outreach_env, TASK_SQL, 4, m=m)
    after = outreach_env.rows(TASK_SQL, m=m)
    # the new gap raises the others' priority (one more open gap); nothing else may change
    def same(rows):
        return [(r.task_id, r.kind, r.queue, r.status, r.assignee, r.outcome, r.due_date, r.version) for r in rows]

    assert same(r for r in after if r.task_id in {t.task_id for t in tasks_before}) == same(tasks_before)
    transitions_after = outreach_env.scalar(
        "SELECT count(*) FROM task_transitions tt JOIN tasks t ON t.task_id = tt.task_id WHERE t.member_id = :m", m=m)
    assert transitions_after == transitions_before + 1
    events = lifecycle(outreach_env, m, lambda es: len(es) >= 4)
    assert len(events) == 4 and len({e["event_id"] for e in events}) == 4
    body = httpx.get(f"http://127.0.0.1:{worker.http_port}/metrics", timeout=5).text
    dup = [ln for ln in body.splitlines()
           if ln.startswith('ccp_consumer_events_total{consumer="outreach.tasks",outcome="duplicate"}')]
    assert dup and float(dup[0].split()[-1]) >= len(batch)


def test_worker_serves_queue_metrics_without_member_labels(outreach_env, worker):
    m = ev.member("MET")
    outreach_env.enroll(ev.roster(m, pod="pod-north", practice="P003"))
    outreach_env.produce([ev.gap_opened(m, "CMS130")])
    wait_rows(outreach_env, TASK_SQL, 1, m=m)

    def scrape():
        body = httpx.get(f"http://127.0.0.1:{worker.http_port}/metrics", timeout=5).text
        return 'outreach_tasks_open{queue="quality_nurse:pod-north",status="open"}' in body and body

    body = wait_for(scrape, 20, what="gauge refreshed by the worker's timer")
    assert 'outreach_tasks_created_total{kind="gap"}' in body
    assert "outreach_tasks_overdue" in body
    assert m not in body
    assert worker.alive()
