"""Messages: a member writes, the message is on ``portal.messages`` before the member is told it
was sent, the care team's reply from ``portal.replies`` shows in the thread. FHIR: the member's
``Patient/$everything`` validates with fhir.resources."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.task import Task

from shared.kafka import EventProducer
from tests.support.procs import wait_for
from tests.unit.portal import events as ev

from .conftest import csrf_of, form_token_of, member_id, sign_in, topic_messages


def test_a_message_goes_to_the_care_team_and_the_reply_comes_back(portal_env, worker):
    m = member_id("MMSG")
    portal_env.produce([ev.roster(m)])
    portal_env.wait_member(m)
    with portal_env.api() as client:
        assert sign_in(client, m).status_code == 303
        page = client.get("/messages")
        form = {"csrf_token": csrf_of(page.text), "form_token": form_token_of(page.text), "topic": "appointment",
                "subject": "Follow-up visit", "body": "Line one.\nCan you book my follow-up?"}
        sent = client.post("/messages", data=form)
        assert sent.status_code == 303 and sent.headers["location"].endswith("?m=sent")
        again = client.post("/messages", data=form)                       # a double click
        assert again.headers["location"].endswith("?m=duplicate")
        thread_url = sent.headers["location"].split("?")[0]
        message_id = uuid.UUID(thread_url.rsplit("/", 1)[1])
        thread = client.get(thread_url)
        assert "Waiting for your care team" in thread.text and "Can you book my follow-up?" in thread.text

        msgs = topic_messages(portal_env.settings, "portal.messages",
                              lambda ms: any(json.loads(x.value())["member_id"] == m for x in ms))
        mine = [json.loads(x.value()) for x in msgs if json.loads(x.value())["member_id"] == m]
        assert len({e["event_id"] for e in mine}) == 1
        event = mine[0]
        assert (event["message_id"], event["topic"], event["signed_in_via"]) == (str(message_id), "appointment",
                                                                                 "dev_code")
        assert dict(msgs[0].headers())["event_type"] == b"portal.message_sent"
        # the worker consumes the portal's own topic too (a rebuild from the topic keeps the thread): no copy
        wait_for(lambda: portal_env.scalar("SELECT count(*) FROM processed_events WHERE event_id = :e",
                                           e=str(message_id)) == 1, 30, what="own message consumed")
        assert portal_env.scalar("SELECT count(*) FROM portal_messages WHERE member_id = :m", m=m) == 1

        # a nurse is working on it (outreach's task), then answers (outreach's reply event)
        portal_env.produce([ev.task(m, kind="message", reason_key=str(message_id), status="claimed")])
        wait_for(lambda: "working on it" in client.get(thread_url).text, 30, what="task status shown")
        portal_env.produce([ev.reply(m, message_id, at=datetime.now(timezone.utc),
                                     body="I booked you for Thursday at 10.")])
        wait_for(lambda: "I booked you for Thursday at 10." in client.get(thread_url).text, 30, what="reply shown")
        shown = client.get(thread_url).text
        assert "Nurse East 1 (Nurse care coordinator) wrote" in shown and "Answered" in shown

        # the member writes back in the same conversation; it answers the reply
        follow = client.post(thread_url + "/reply", data={"csrf_token": csrf_of(shown),
                                                          "form_token": form_token_of(shown), "body": "Thank you!"})
        assert follow.status_code == 303
        answered = portal_env.scalar("SELECT in_reply_to FROM portal_messages WHERE member_id = :m AND body = 'Thank you!'",
                                     m=m)
        assert answered is not None
        status = client.get(thread_url).text.split('id="thread-status">')[1].split("<")[0]
        assert status == "Your care team is working on it"                # no longer "Answered"


def test_when_kafka_cannot_confirm_the_member_is_told_and_nothing_is_kept(portal_env, worker):
    m = member_id("MDOWN")
    portal_env.produce([ev.roster(m)])
    portal_env.wait_member(m)
    dead = portal_env.settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1", "producer_timeout_s": 1.5})
    producer = EventProducer(dead, client_id="portal-dead")
    try:
        from fastapi.testclient import TestClient

        from services.portal.api import create_api
        with TestClient(create_api(portal_env.settings, producer=producer), follow_redirects=False) as client:
            assert sign_in(client, m).status_code == 303
            page = client.get("/messages")
            r = client.post("/messages", data={"csrf_token": csrf_of(page.text), "form_token": form_token_of(page.text),
                                               "topic": "medication", "subject": "Refill", "body": "Please."})
            assert r.status_code == 503 and "Nothing was sent" in r.text
            assert 'value="Refill"' in r.text                       # the member's words are kept in the form
    finally:
        producer.close(timeout=0.5)
    assert portal_env.scalar("SELECT count(*) FROM portal_messages WHERE member_id = :m", m=m) == 0


def test_patient_everything_is_the_members_record_in_valid_fhir(portal_env, worker):
    m = member_id("MFHIR")
    now = datetime.now(timezone.utc)
    task_id = uuid.uuid4()
    portal_env.produce([ev.roster(m, at=now - timedelta(days=30))])
    portal_env.wait_member(m)
    portal_env.produce([
        ev.gap_opened(m, "CMS165", at=now - timedelta(days=9)),
        ev.alert(m, kind="ed_visit", key="MERCY|VED", at=now - timedelta(days=4)),
        ev.discharge(m, key="MERCY|VIP", at=now - timedelta(days=2), admitted=now - timedelta(days=5)),
        ev.task(m, task_id=task_id, kind="tcm", due=now.date() + timedelta(days=1)),
    ])
    wait_for(lambda: portal_env.scalar("SELECT count(*) FROM portal_tasks WHERE member_id = :m", m=m) == 1
             and portal_env.scalar("SELECT count(*) FROM portal_encounters WHERE member_id = :m", m=m) == 2
             and portal_env.scalar("SELECT count(*) FROM portal_gaps WHERE member_id = :m", m=m) == 1, 30, what="projected")
    with portal_env.api() as client:
        assert client.get(f"/fhir/Patient/{m}/$everything").status_code == 401      # no session
        assert sign_in(client, m).status_code == 303
        r = client.get(f"/fhir/Patient/{m}/$everything")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
        bundle = Bundle.model_validate(r.json())
        assert bundle.type == "searchset" and bundle.total == 5
        by_type: dict = {}
        for entry in bundle.entry:
            by_type.setdefault(entry.resource.get_resource_type(), []).append(entry.resource)
        (patient,) = by_type["Patient"]
        Patient.model_validate(patient.model_dump())
        assert patient.id == m and patient.birthDate.isoformat() == "1958-03-14"
        encounters = sorted(by_type["Encounter"], key=lambda e: e.class_fhir.code)
        assert [e.class_fhir.code for e in encounters] == ["EMER", "IMP"]
        assert [e.status for e in encounters] == ["in-progress", "finished"]
        assert all(e.subject.reference == f"Patient/{m}" for e in encounters)
        (issue,) = by_type["DetectedIssue"]
        DetectedIssue.model_validate(issue.model_dump())
        assert issue.code.coding[0].code == "CAREGAP" and "blood pressure" in issue.detail.lower()
        (task,) = by_type["Task"]
        Task.model_validate(task.model_dump())
        assert task.id == str(task_id) and task.status == "ready" and task.for_fhir.reference == f"Patient/{m}"
        for rtype in ("Encounter", "DetectedIssue", "Task"):
            found = client.get(f"/fhir/{rtype}?patient={m}")
            assert found.status_code == 200 and Bundle.model_validate(found.json()).total == len(by_type[rtype])
        Patient.model_validate(client.get(f"/fhir/Patient/{m}").json())
        assert client.get("/fhir/metadata").json()["fhirVersion"] == "4.0.1"
        assert client.get("/fhir/Observation?patient=" + m).status_code == 404
    reads = portal_env.rows("SELECT endpoint, detail FROM audit_log WHERE member_id = :m AND action = 'read'", m=m)
    assert any(r.endpoint == "FHIR GET /fhir/Patient/{patient_id}/$everything" for r in reads)


def test_the_fhir_operations_document_what_they_answer(portal_env):
    """Found by the API fuzzing's conformance checks (tests/fuzz): the document said application/json
    and only 200/422, while the API answers application/fhir+json and refuses with 400/401/403/404."""
    with portal_env.api() as client:
        paths = client.get("/openapi.json").json()["paths"]
        refusals = {"/fhir/metadata": set(), "/fhir/Patient/{patient_id}": {"401", "403", "404"},
                    "/fhir/Patient/{patient_id}/$everything": {"401", "403", "404"},
                    "/fhir/{resource_type}": {"400", "401", "403", "404"}}
        for path, codes in refusals.items():
            responses = paths[path]["get"]["responses"]
            assert codes | {"200"} <= set(responses), path
            for code in codes | {"200"}:
                assert set(responses[code]["content"]) == {"application/fhir+json"}, (path, code)
            if "401" in codes:
                assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
        refused = client.get("/fhir/Patient/anyone")
        assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/fhir+json")
        assert refused.json()["resourceType"] == "OperationOutcome" and refused.headers["www-authenticate"]
