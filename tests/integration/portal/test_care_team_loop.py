"""The whole loop through the real broker and PostgreSQL, every service as its own process:
a member writes in the portal → outreach makes a task in the right queue → a nurse claims it and
answers through the outreach API → the answer shows in the member's thread in the portal."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.infra import Databases
from tests.support.procs import free_port, start_process, wait_for
from tests.unit.portal import events as ev

from .conftest import csrf_of, form_token_of, member_id, sign_in, topic_messages


@pytest.fixture(scope="module")
def outreach(portal_env, postgres_server_url):
    databases = Databases(postgres_server_url)
    db_url = databases.new()
    env = {**portal_env.env(), "DATABASE_URL": db_url, "WORKER_WITHIN_S": "0.02"}
    wport, aport = free_port(), free_port()
    worker = start_process("outreach", "worker", {**env, "WORKER_PORT": str(wport)}, portal_env.tmp, http_port=wport)
    api = start_process("outreach", "api", {**env, "API_PORT": str(aport)}, portal_env.tmp, http_port=aport)
    engine = None
    try:
        worker.wait_healthy(60)
        api.wait_healthy(60)
        engine = create_engine(db_url)
        yield engine, f"http://127.0.0.1:{aport}"
    finally:
        api.stop()
        worker.stop()
        if engine is not None:
            engine.dispose()
        databases.drop_all()


def test_a_portal_message_reaches_the_right_queue_and_the_nurses_reply_reaches_the_member(portal_env, worker,
                                                                                         outreach):
    engine, outreach_api = outreach
    m = member_id("MLOOP")
    portal_env.produce([ev.roster(m, at=datetime.now(timezone.utc) - timedelta(days=10), pod="pod-east")])
    portal_env.wait_member(m)

    def task_row():
        with engine.connect() as conn:
            return conn.execute(text("SELECT task_id, kind, queue, status, version, reason FROM tasks "
                                     "WHERE member_id = :m"), {"m": m}).first()

    with portal_env.api() as client:
        assert sign_in(client, m).status_code == 303
        page = client.get("/messages")
        sent = client.post("/messages", data={"csrf_token": csrf_of(page.text), "form_token": form_token_of(page.text),
                                              "topic": "care_question", "subject": "Dizzy since discharge",
                                              "body": "I feel dizzy when I stand up. Should I worry?"})
        assert sent.status_code == 303
        thread_url = sent.headers["location"].split("?")[0]

        row = wait_for(task_row, 60, what="outreach task for the portal message")
        assert (row.kind, row.queue, row.status) == ("message", "quality_nurse:pod-east", "open")
        assert "I feel dizzy when I stand up" in row.reason

        nurse = httpx.Client(base_url=outreach_api, headers={"Authorization": "Bearer dev-nurse-east1"}, timeout=15)
        claimed = nurse.post(f"/api/tasks/{row.task_id}/claim", json={"expected_version": row.version})
        assert claimed.status_code == 200, claimed.text
        # the member sees the nurse is on it once outreach.tasks reaches the portal
        wait_for(lambda: "working on it" in client.get(thread_url).text, 60, what="task progress in the portal")
        wrong = nurse.post(f"/api/tasks/{row.task_id}/reply", json={"expected_version": 1, "body": "x"})
        assert wrong.status_code == 409
        answered = nurse.post(f"/api/tasks/{row.task_id}/reply",
                              json={"expected_version": claimed.json()["version"],
                                    "body": "Please sit before standing and drink water. I will call you today."})
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "in_progress"
        wait_for(lambda: "I will call you today." in client.get(thread_url).text, 60, what="reply in the portal")
        shown = client.get(thread_url).text
        assert "Nurse East 1 (Nurse care coordinator) wrote" in shown and "Answered" in shown

    replies = topic_messages(portal_env.settings, "portal.replies",
                             lambda ms: any(json.loads(x.value())["member_id"] == m for x in ms))
    (reply,) = [json.loads(x.value()) for x in replies if json.loads(x.value())["member_id"] == m]
    assert reply["task_id"] == str(row.task_id) and reply["author_role"] == "quality_nurse"
    assert portal_env.scalar("SELECT count(*) FROM portal_replies WHERE member_id = :m", m=m) == 1
