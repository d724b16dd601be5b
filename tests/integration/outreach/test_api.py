"""The outreach API as a process: concurrency, authorization, audit, bad input, events.

Tasks are set up with the worker's handler in this process (fast); the API runs as a
subprocess against the same PostgreSQL database and Kafka topics.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

from services.outreach.app.staff import Staff
from shared.auth import DEV_USERS_FILE, UserDirectory

from . import events as ev
from .conftest import LOAD_NURSES, LOAD_POD, client, load_key, topic_messages

TASKS_OF = "SELECT task_id, status, assignee, version, queue FROM tasks WHERE member_id = :m ORDER BY task_id"


def unassigned_tasks(env, n: int, prefix: str) -> list[str]:
    """``n`` open, unassigned tasks in ``quality_nurse:pod-load`` (seeded with a directory in which
    nobody works that pod yet, so the auto-assignment leaves them in the queue)."""
    members = [ev.member(prefix) for _ in range(n)]
    events = []
    for m in members:
        events += [ev.roster(m, pod=LOAD_POD), ev.gap_opened(m, "CMS130")]
    env.seed(events, users_file=DEV_USERS_FILE)
    ids = []
    for m in members:
        (row,) = env.rows(TASKS_OF, m=m)
        assert row.assignee is None and row.queue == f"quality_nurse:{LOAD_POD}"
        ids.append(row.task_id)
    return ids


def test_two_nurses_claiming_one_task_at_once_one_wins_the_other_gets_409(outreach_env, api):
    task_ids = unassigned_tasks(outreach_env, 4, "RACE")
    nurses = [client(api, load_key(0)), client(api, load_key(1))]
    for task_id in task_ids:
        barrier = threading.Barrier(2)

        def race(c):
            barrier.wait()
            return c.post(f"/api/tasks/{task_id}/claim", json={"expected_version": 1})

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(race, nurses))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 200).json()
        row = outreach_env.rows("SELECT status, assignee, version FROM tasks WHERE task_id = :t", t=task_id)[0]
        assert (row.status, row.assignee, row.version) == ("claimed", winner["assignee"], 2)
        assert outreach_env.scalar("SELECT count(*) FROM task_transitions WHERE task_id = :t", t=task_id) == 2
    # exactly one "claimed" lifecycle event per task, from the API process
    msgs = topic_messages(outreach_env, "outreach.tasks", lambda ms: sum(
        1 for m in ms if json.loads(m.value())["task_id"] in task_ids
        and json.loads(m.value())["to_status"] == "claimed") >= len(task_ids))
    claimed = [json.loads(m.value()) for m in msgs]
    claimed = [e for e in claimed if e["task_id"] in task_ids and e["to_status"] == "claimed"]
    assert len(claimed) == len(task_ids)
    assert all(e["actor"].startswith("nurse.load") for e in claimed)


def test_claim_next_under_parallel_requests_gives_each_nurse_a_different_task(outreach_env, api):
    task_ids = set(unassigned_tasks(outreach_env, 2 * LOAD_NURSES, "NEXT"))
    nurses = [client(api, load_key(i)) for i in range(LOAD_NURSES)]
    barrier = threading.Barrier(LOAD_NURSES)

    def grab(c):
        barrier.wait()
        return [c.post("/api/queue/claim-next") for _ in range(2)]

    with ThreadPoolExecutor(LOAD_NURSES) as pool:
        answers = [a for pair in pool.map(grab, nurses) for a in pair]
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers if a.status_code != 200]
    got = [a.json()["task_id"] for a in answers]
    assert len(set(got)) == len(got) == len(task_ids)
    assert set(got) == task_ids
    assert all(a.json()["status"] == "claimed" for a in answers)
    assert nurses[0].post("/api/queue/claim-next").status_code == 204  # nothing left


def test_authorization_pods_roles_and_aggregates(outreach_env, api):
    east, west = ev.member("AUTH-E"), ev.member("AUTH-W")
    outreach_env.seed([ev.roster(east), ev.gap_opened(east), ev.roster(west, pod="pod-west", practice="P002"),
                       ev.gap_opened(west)])
    (east_task,) = outreach_env.rows(TASKS_OF, m=east)
    (west_task,) = outreach_env.rows(TASKS_OF, m=west)
    nurse, ops, sup = client(api, "dev-nurse-east1"), client(api, "dev-ops"), client(api, "dev-supervisor-east")

    assert nurse.get(f"/api/tasks/{east_task.task_id}").status_code == 200
    assert nurse.get(f"/api/tasks/{west_task.task_id}").status_code == 404
    assert nurse.get(f"/api/tasks/{west_task.task_id}").json() == {"detail": "task not found"}
    assert nurse.post(f"/api/tasks/{west_task.task_id}/claim", json={"expected_version": 1}).status_code == 404
    assert nurse.get("/api/queues/quality_nurse:pod-west/tasks").status_code == 403
    assert nurse.get("/api/queues/quality_nurse:pod-east/tasks").status_code == 200
    assert all(t["pod"] == "pod-east" for t in nurse.get("/api/queue").json()["available"])

    assert ops.get(f"/api/tasks/{east_task.task_id}").status_code == 403
    assert ops.get("/api/queues/quality_nurse:pod-east/tasks").status_code == 403
    view = ops.get("/api/supervisor/view")
    assert view.status_code == 200
    assert {"quality_nurse:pod-east", "quality_nurse:pod-west"} <= {q["queue"] for q in view.json()["queues"]}
    assert east not in view.text and west not in view.text

    assert sup.get(f"/api/tasks/{west_task.task_id}").status_code == 404
    assert {q["pod"] for q in sup.get("/api/supervisor/view").json()["queues"]} == {"pod-east"}
    assert sup.get("/api/supervisor/view", params={"pod": "pod-west"}).status_code == 403
    assert nurse.get("/api/supervisor/view").status_code == 403

    assert client(api, None).get("/api/queue").status_code == 401
    assert client(api, "not-a-key").get(f"/api/tasks/{east_task.task_id}").status_code == 401
    assert client(api, "dev-hospitalist-hg-north").get("/api/queue").status_code == 403


def test_reads_and_writes_of_member_data_are_audited(outreach_env, api):
    m, other = ev.member("AUD"), ev.member("AUD-W")
    outreach_env.seed([ev.roster(m), ev.gap_opened(m, "CMS122"), ev.roster(other, pod="pod-west", practice="P002"),
                       ev.gap_opened(other)])
    (task,) = outreach_env.rows(TASKS_OF, m=m)
    (other_task,) = outreach_env.rows(TASKS_OF, m=other)
    nurse = client(api, f"dev-{task.assignee.replace('.', '-')}")  # the assignee: nurse.east1 or nurse.east2
    assert nurse.get("/api/queue").status_code == 200
    assert nurse.get(f"/api/tasks/{task.task_id}").status_code == 200
    assert nurse.post(f"/api/tasks/{task.task_id}/claim", json={"expected_version": 1}).status_code == 200
    assert nurse.get(f"/api/tasks/{other_task.task_id}").status_code == 404

    rows = outreach_env.rows("SELECT user_id, member_id, action, endpoint, detail FROM audit_log "
                             "WHERE member_id IN (:m, :o) ORDER BY id", m=m, o=other)
    seen = {(r.member_id, r.action, r.endpoint) for r in rows}
    assert (m, "read", "GET /api/queue") in seen
    assert (m, "read", "GET /api/tasks/{task_id}") in seen
    assert (m, "write", "POST /api/tasks/{task_id}/claim") in seen
    refused = [r for r in rows if r.member_id == other]
    assert refused and "refused" in refused[0].detail and refused[0].user_id == task.assignee

    admin = client(api, "dev-admin")
    found = admin.get("/api/admin/audit", params={"member_id": m}).json()
    assert {r["endpoint"] for r in found} >= {"GET /api/tasks/{task_id}", "POST /api/tasks/{task_id}/claim"}
    assert nurse.get("/api/admin/audit").status_code == 403
    assert admin.get("/api/admin/audit", params={"since": "2026-01-01T00:00:00"}).status_code == 422  # no offset


def test_due_dates_count_business_days_over_weekends_and_holidays(outreach_env, api, tmp_path):
    # Thursday 2 July 2026, 11:00 in New York; Friday 3 July is the observed Independence Day.
    thursday = datetime(2026, 7, 2, 15, 0, tzinfo=timezone.utc)
    m = ev.member("BIZ")
    outreach_env.seed([ev.roster(m, at=thursday - timedelta(days=1)), ev.gap_opened(m, "CMS122", at=thursday),
                       ev.discharge(m, at=thursday, discharged=thursday - timedelta(hours=1))])
    nurse = client(api, "dev-supervisor-east")
    due = {t["kind"]: t["due_date"] for t in nurse.get("/api/queues/quality_nurse:pod-east/tasks").json()["tasks"]
           if t["member_id"] == m}
    assert due == {"gap": "2026-07-10", "tcm": "2026-07-07"}  # 5 and 2 business days after the Thursday

    # a deployment's holiday file adds Monday 6 July: both move one business day
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("2026-07-06  # clinic closed\n")
    m2 = ev.member("BIZ-H")
    settings = outreach_env.settings.model_copy(update={"holidays_file": str(holidays)})
    outreach_env.settings, saved = settings, outreach_env.settings
    try:
        outreach_env.seed([ev.roster(m2, at=thursday - timedelta(days=1)), ev.gap_opened(m2, "CMS122", at=thursday),
                           ev.discharge(m2, at=thursday, discharged=thursday - timedelta(hours=1))])
    finally:
        outreach_env.settings = saved
    tasks = nurse.get("/api/queues/quality_nurse:pod-east/tasks").json()["tasks"]
    assert {t["kind"]: t["due_date"] for t in tasks if t["member_id"] == m2} == {"gap": "2026-07-13",
                                                                                 "tcm": "2026-07-08"}
    detail = nurse.get(f"/api/tasks/{next(t['task_id'] for t in tasks if t['member_id'] == m)}").json()
    assert detail["overdue"] is (date.today() > date(2026, 7, 10))


def test_bad_input_is_422_illegal_moves_are_409_never_500(outreach_env, api):
    m = ev.member("BAD")
    outreach_env.seed([ev.roster(m), ev.gap_opened(m)])
    (task,) = outreach_env.rows(TASKS_OF, m=m)
    nurse = client(api, f"dev-{task.assignee.replace('.', '-')}")
    url = f"/api/tasks/{task.task_id}"
    assert nurse.get("/api/tasks/not-a-uuid").status_code == 422
    assert nurse.post(f"{url}/claim", json={}).status_code == 422
    assert nurse.post(f"{url}/claim", content=b"{not json", headers={"content-type": "application/json"}
                      ).status_code == 422
    assert nurse.post(f"{url}/complete", json={"expected_version": 1, "outcome": "x"}).status_code == 409
    assert nurse.post(f"{url}/claim", json={"expected_version": 1}).status_code == 200
    assert nurse.post(f"{url}/claim", json={"expected_version": 1}).status_code == 409
    bad = nurse.post(f"{url}/attempts", json={"expected_version": 2, "channel": "pigeon", "outcome": "reached"})
    assert bad.status_code == 422
    assert nurse.post(f"{url}/attempts", json={"expected_version": 2, "channel": "phone", "outcome": "reached",
                                               "note": "x" * 501}).status_code == 422
    ok = nurse.post(f"{url}/attempts", json={"expected_version": 2, "channel": "phone", "outcome": "reached"})
    assert ok.status_code == 200 and ok.json()["status"] == "in_progress"
    past = nurse.post(f"{url}/schedule", json={"expected_version": 3, "appointment_date": "2020-01-01"})
    assert past.status_code == 422 and past.json()["field"] == "appointment_date"
    later = (date.today() + timedelta(days=9)).isoformat()
    sched = nurse.post(f"{url}/schedule", json={"expected_version": 3, "appointment_date": later})
    assert sched.status_code == 200 and sched.json()["appointment_date"] == later
    done = nurse.post(f"{url}/complete", json={"expected_version": 4, "outcome": "screening done"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    history = nurse.get(url).json()["history"]
    assert [h["to_status"] for h in history] == ["open", "claimed", "in_progress", "scheduled", "done"]
    events = topic_messages(outreach_env, "outreach.tasks", lambda ms: sum(
        1 for x in ms if json.loads(x.value())["task_id"] == task.task_id) >= 4)
    mine = [json.loads(x.value()) for x in events if json.loads(x.value())["task_id"] == task.task_id]
    assert [e["to_status"] for e in mine] == ["claimed", "in_progress", "scheduled", "done"]  # seeding emits none


def test_supervisor_reassigns_and_cancels_nurses_may_not(outreach_env, api):
    m = ev.member("SUP")
    outreach_env.seed([ev.roster(m), ev.gap_opened(m), ev.gap_opened(m, "CMS165")])
    first, second = outreach_env.rows(TASKS_OF, m=m)
    sup = client(api, "dev-supervisor-east")
    target = "nurse.east2" if first.assignee != "nurse.east2" else "nurse.east1"
    nurse = client(api, f"dev-{first.assignee.replace('.', '-')}")
    assert nurse.post(f"/api/tasks/{first.task_id}/reassign",
                      json={"expected_version": 1, "assignee": target}).status_code == 403
    moved = sup.post(f"/api/tasks/{first.task_id}/reassign", json={"expected_version": 1, "assignee": target})
    assert moved.status_code == 200 and moved.json()["assignee"] == target
    assert sup.post(f"/api/tasks/{first.task_id}/reassign",
                    json={"expected_version": 2, "assignee": "nurse.west1"}).status_code == 422
    gone = sup.post(f"/api/tasks/{second.task_id}/cancel", json={"expected_version": 1, "reason": "duplicate"})
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"


def test_openapi_documents_the_api(api):
    spec = client(api, None).get("/openapi.json").json()
    assert "/api/queue/claim-next" in spec["paths"] and "/api/tasks/{task_id}" in spec["paths"]
    assert spec["paths"]["/api/tasks/{task_id}/claim"]["post"]["summary"]
    assert "409" in spec["paths"]["/api/tasks/{task_id}/claim"]["post"]["responses"]


def _staff_sanity():  # the dev directory has two quality nurses in pod-east (the tests rely on it)
    staff = Staff(UserDirectory.load(DEV_USERS_FILE))
    return {s.user_id for s in staff.for_queue("quality_nurse", "pod-east")}


def test_dev_directory_has_the_pod_east_nurses_the_tests_use():
    assert _staff_sanity() == {"nurse.east1", "nurse.east2"}
