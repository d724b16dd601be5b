"""FHIR R4 Subscriptions (R5 Backport IG 1.1.0) end to end, against a real receiver that parses
every notification with ``fhir.resources``: handshake, event notifications (id-only and
full-resource), heartbeats, ``$status``, ``$events``, and the scoped reads of the resources the
notifications point at."""

from __future__ import annotations

from fhir.resources.R4B.subscription import Subscription as FhirSubscription

from services.notifications.domain.model import encounter_id, issue_id
from tests.support.procs import wait_for

from . import events as ev
from .conftest import OTHER_PRACTICE_KEY, PRACTICE_KEY
from .receivers import HttpReceiver

IG = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
CANON = "https://ccp.example.org/fhir/SubscriptionTopic/"


def subscription(endpoint: str, topic: str, *, content: str = "id-only", filters=(), heartbeat: int | None = None,
                 practice: str | None = None, max_count: int = 1) -> dict:
    channel_ext = [{"url": IG + "backport-timeout", "valueUnsignedInt": 5},
                   {"url": IG + "backport-max-count", "valuePositiveInt": max_count}]
    if heartbeat:
        channel_ext.append({"url": IG + "backport-heartbeat-period", "valueUnsignedInt": heartbeat})
    body = {"resourceType": "Subscription", "meta": {"profile": [IG + "backport-subscription"]},
            "status": "requested", "reason": "PCP admission alerts", "criteria": CANON + topic,
            "_criteria": {"extension": [{"url": IG + "backport-filter-criteria", "valueString": f}
                                        for f in filters]},
            "channel": {"extension": channel_ext, "type": "rest-hook", "endpoint": endpoint,
                        "payload": "application/fhir+json",
                        "_payload": {"extension": [{"url": IG + "backport-payload-content", "valueCode": content}]},
                        "header": ["Authorization: Bearer receiver-token"]}}
    if practice:
        body["extension"] = [{"url": "urn:ccp:subscription-owner-practice", "valueString": practice}]
    FhirSubscription.model_validate(body)  # what we send is a valid R4 Subscription
    return body


def params(bundle: dict) -> dict:
    status = bundle["entry"][0]["resource"]
    return {p["name"]: p for p in status["parameter"]}


def test_subscription_handshake_notifications_status_and_events(notif_env):
    rx = HttpReceiver().start()
    try:
        with notif_env.client() as c:
            r = c.post("/fhir/Subscription", json=subscription(rx.url + "/notify", "encounter-start",
                                                               filters=["Encounter?practice=P001"]))
            assert r.status_code == 201, r.text
            created = r.json()
            FhirSubscription.model_validate(created)
            sid = created["id"]
            assert created["status"] == "requested"
            assert created["channel"]["header"] == ["Authorization: ***"], "a stored header is never shown again"
            wait_for(lambda: c.get(f"/fhir/Subscription/{sid}").json()["status"] == "active", 30, what="active")
        handshake = rx.received[0]
        assert handshake.headers["authorization"] == "Bearer receiver-token"
        assert params(handshake.doc)["type"]["valueCode"] == "handshake"
        assert handshake.doc["type"] == "history"

        m, other = ev.member(), ev.member()
        notif_env.enroll(ev.roster(m), ev.roster(other, practice="P002"))
        a1, a2 = ev.admit(m), ev.admit(other, practice="P002")
        notif_env.produce([a1, a2])
        wait_for(lambda: len(rx.received) >= 2, 30, what="the event notification")
        note = rx.received[1].doc
        p = params(note)
        assert p["type"]["valueCode"] == "event-notification"
        assert p["events-since-subscription-start"]["valueString"] == "1"
        event = {x["name"]: x for x in p["notification-event"]["part"]}
        assert event["event-number"]["valueString"] == "1"
        assert event["focus"]["valueReference"]["reference"].endswith(f"/Encounter/{encounter_id(a1.encounter_key)}")
        assert note["entry"][1]["fullUrl"].endswith(f"/Encounter/{encounter_id(a1.encounter_key)}")
        assert "resource" not in note["entry"][1], "id-only: no resource"
        assert not rx.rejected, rx.rejected

        with notif_env.client() as c:
            st = c.get(f"/fhir/Subscription/{sid}/$status").json()
            assert st["type"] == "searchset"
            sp = {x["name"]: x for x in st["entry"][0]["resource"]["parameter"]}
            assert sp["status"]["valueCode"] == "active" and sp["type"]["valueCode"] == "query-status"
            assert sp["events-since-subscription-start"]["valueString"] == "1"
            missed = c.get(f"/fhir/Subscription/{sid}/$events", params={"eventsSinceNumber": "1",
                                                                         "content": "full-resource"}).json()
            from .receivers import validate_fhir

            validate_fhir(missed)
            assert params(missed)["type"]["valueCode"] == "query-event"
            enc = [e for e in missed["entry"] if e["fullUrl"].endswith(encounter_id(a1.encounter_key))][0]
            assert enc["resource"]["status"] == "in-progress" and enc["resource"]["class"]["code"] == "IMP"
            # the resources the notification points at, read from the same base, scoped
            enc_read = c.get(f"/fhir/Encounter/{encounter_id(a1.encounter_key)}")
            assert enc_read.status_code == 200 and enc_read.json()["subject"]["reference"] == f"Patient/{m}"
            assert c.get(f"/fhir/Patient/{m}").json()["birthDate"] == "1958-03-14"
        with notif_env.client(PRACTICE_KEY) as p1, notif_env.client(OTHER_PRACTICE_KEY) as p2:
            assert p1.get(f"/fhir/Encounter/{encounter_id(a1.encounter_key)}").status_code == 200
            assert p2.get(f"/fhir/Encounter/{encounter_id(a1.encounter_key)}").status_code == 404
            assert p2.get(f"/fhir/Patient/{m}").json()["resourceType"] == "OperationOutcome"
            assert p1.get(f"/fhir/Subscription/{sid}").status_code == 404, "not owned by P001"
        assert notif_env.scalar("SELECT count(*) FROM audit_log WHERE member_id = :m", m=m) >= 3
    finally:
        rx.stop()


def test_full_resource_notifications_and_gap_and_task_resources_validate(notif_env):
    rx = HttpReceiver().start()
    try:
        with notif_env.client() as c:
            gaps = c.post("/fhir/Subscription", json=subscription(rx.url, "care-gap-opened", content="full-resource",
                                                                  practice="P001")).json()
            assert gaps["_criteria"]["extension"][0]["valueString"] == "DetectedIssue?practice=P001"
            wait_for(lambda: c.get(f"/fhir/Subscription/{gaps['id']}").json()["status"] == "active", 30,
                     what="active")
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        gap = ev.gap_opened(m)
        notif_env.produce([gap])
        wait_for(lambda: len(rx.received) >= 2, 30, what="the gap notification")
        note = rx.received[-1].doc
        issue = note["entry"][1]["resource"]
        assert issue["resourceType"] == "DetectedIssue" and issue["id"] == issue_id(gap.gap_key)
        assert issue["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "open-gap"
        assert note["entry"][2]["resource"]["resourceType"] == "Patient"
        assert not rx.rejected, rx.rejected
        with notif_env.client(PRACTICE_KEY) as p1:
            assert p1.get(f"/fhir/DetectedIssue/{issue_id(gap.gap_key)}").status_code == 200
            assert p1.get(f"/fhir/Subscription/{gaps['id']}").status_code == 200, "owned by P001"
    finally:
        rx.stop()


def test_heartbeats_flow_and_a_failed_handshake_puts_the_subscription_in_error(notif_env):
    rx = HttpReceiver().start()
    down = HttpReceiver(mode="fail").start()
    try:
        with notif_env.client() as c:
            hb = c.post("/fhir/Subscription", json=subscription(rx.url, "encounter-end", heartbeat=1)).json()
            bad = c.post("/fhir/Subscription", json=subscription(down.url, "encounter-end")).json()
            wait_for(lambda: sum(params(r.doc)["type"]["valueCode"] == "heartbeat" for r in rx.received) >= 2, 30,
                     what="two heartbeats")
            failed = wait_for(lambda: (s := c.get(f"/fhir/Subscription/{bad['id']}").json())["status"] == "error"
                              and s, 30, what="handshake failure")
            assert "handshake failed: 500" in failed["error"]
            st = c.get("/fhir/Subscription/$status", params={"id": [hb["id"], bad["id"]]}).json()
            assert st["total"] == 2
            # the client fixes its endpoint and asks again: a new handshake
            down.mode = "ok"
            fixed = c.put(f"/fhir/Subscription/{bad['id']}", json={**subscription(down.url, "encounter-end"),
                                                                   "id": bad["id"]})
            assert fixed.status_code == 200 and fixed.json()["status"] == "requested"
            wait_for(lambda: c.get(f"/fhir/Subscription/{bad['id']}").json()["status"] == "active", 30,
                     what="active after the fix")
            assert c.delete(f"/fhir/Subscription/{hb['id']}").status_code == 204
            assert c.get(f"/fhir/Subscription/{hb['id']}").status_code == 404
        for r in rx.received:
            assert params(r.doc)["events-since-subscription-start"]["valueString"] == "0"
        assert not rx.rejected
    finally:
        rx.stop()
        down.stop()


def test_a_subscription_the_server_cannot_honour_is_refused_with_an_operation_outcome(notif_env):
    with notif_env.client() as c:
        for body, why in (
                ({**subscription("http://127.0.0.1:9/x", "encounter-start"), "criteria": CANON + "nope"}, "topic"),
                (subscription("http://127.0.0.1:9/x", "encounter-start", filters=["Encounter?ward=4W"]), "ward"),
                (subscription("http://10.0.0.5/x", "encounter-start"), "endpoint refused"),
                ({"resourceType": "Patient"}, "Subscription")):
            r = c.post("/fhir/Subscription", json=body)
            assert r.status_code == 400, r.text
            assert r.json()["resourceType"] == "OperationOutcome" and why in r.json()["issue"][0]["diagnostics"]
        assert c.get("/fhir/metadata").json()["rest"][0]["resource"][0]["extension"][0]["valueCanonical"].startswith(
            CANON)
    with notif_env.client(PRACTICE_KEY) as p1:
        assert p1.post("/fhir/Subscription", json=subscription("http://127.0.0.1:9/x", "encounter-start")
                       ).status_code == 403


def test_a_backlog_goes_out_in_bundles_of_up_to_max_count_events(notif_env):
    rx = HttpReceiver().start()
    try:
        with notif_env.client() as c:
            r = c.post("/fhir/Subscription", json=subscription(rx.url + "/notify", "care-gap-opened", max_count=5))
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            wait_for(lambda: c.get(f"/fhir/Subscription/{sid}").json()["status"] == "active", 30, what="active")
        rx.stop()  # a backlog builds while the receiver is down
        members = [ev.member() for _ in range(12)]
        notif_env.enroll(*[ev.roster(m) for m in members])
        notif_env.produce([ev.gap_opened(m) for m in members])
        wait_for(lambda: notif_env.scalar("SELECT events_count FROM subscriptions WHERE id = :s", s=sid) == 12,
                 30, what="twelve events owed")
        rx.restart()

        def numbers() -> list[list[int]]:
            out = []
            for got in list(rx.received):
                p = params(got.doc)
                if p["type"]["valueCode"] == "event-notification":
                    events = [x for x in got.doc["entry"][0]["resource"]["parameter"] if x["name"] == "notification-event"]
                    out.append([int(next(y["valueString"] for y in e["part"] if y["name"] == "event-number"))
                                for e in events])
            return out

        wait_for(lambda: sorted(n for b in numbers() for n in b) == list(range(1, 13)), 60,
                 what="every event, once")
        sizes = [len(b) for b in numbers()]
        assert max(sizes) > 1 and max(sizes) <= 5, sizes
        assert not rx.rejected, rx.rejected  # every Bundle parsed by fhir.resources
        wait_for(lambda: notif_env.scalar("SELECT count(*) FROM deliveries WHERE subscription_id = :s "
                                          "AND state = 'delivered'", s=sid) == 12, 30, what="recorded")
    finally:
        rx.stop()
