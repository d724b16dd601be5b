"""Standard Webhooks end to end: platform events on Kafka -> the notifications worker -> a real
HTTP receiver that verifies every signature with the ``standardwebhooks`` library."""

from __future__ import annotations

import json
import uuid

from services.notifications.domain.model import notification_id
from tests.support.procs import read_topic, wait_for

from . import events as ev
from .receivers import HttpReceiver


def test_an_admission_and_its_discharge_reach_a_signed_webhook_in_order(notif_env):
    rx = HttpReceiver().start()
    try:
        sub = notif_env.subscribe(rx.url, ["encounter-start", "encounter-end"], filters={"practices": ["P001"]})
        assert sub["secret"].startswith("whsec_") and sub["status"] == "active"
        rx.secrets = [sub["secret"]]
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        alert = ev.admit(m)
        discharge = ev.discharge(alert)
        notif_env.produce([alert])
        wait_for(lambda: len(rx.webhooks()) >= 1, 30, what="the admission")
        # alerts.hospitalist and care.transitions are not ordered with each other on Kafka: the
        # discharge follows the admission in time, as it does in the world
        notif_env.produce([discharge])
        wait_for(lambda: len(rx.webhooks()) >= 2, 30, what="the discharge")
        assert not rx.rejected
        first, second = rx.webhooks()[:2]
        assert [first["type"], second["type"]] == ["encounter-start", "encounter-end"]
        assert [first["data"]["event_number"], second["data"]["event_number"]] == [1, 2]
        assert rx.received[0].headers["webhook-id"] == str(notification_id(alert.event_id, "encounter-start"))
        # id-only by default: references, no names or diagnoses
        assert first["data"]["focus"].startswith("Encounter/") and first["data"]["patient"] == f"Patient/{m}"
        assert "Ada" not in rx.received[0].body.decode() and "J18.9" not in rx.received[0].body.decode()
        wait_for(lambda: notif_env.scalar("SELECT count(*) FROM deliveries WHERE subscription_id = :s "
                                          "AND state = 'delivered'", s=sub["id"]) == 2, 30, what="recorded")
        with notif_env.client() as c:
            attempts = c.get(f"/subscriptions/{sub['id']}/attempts").json()
            log = c.get(f"/subscriptions/{sub['id']}/deliveries").json()
            per_event = c.get(f"/events/{first['data']['event_id']}/attempts").json()
        assert {a["status"] for a in attempts} == {"200"} and len(attempts) == 2
        assert [d["state"] for d in log] == ["delivered", "delivered"]
        assert per_event[0]["subscription_id"] == sub["id"] and per_event[0]["ok"] is True
    finally:
        rx.stop()


def test_a_subscription_gets_only_what_its_filters_and_topics_allow(notif_env):
    rx = HttpReceiver().start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"], filters={"practices": ["P002"], "programs": ["aco"]})
        rx.secrets = [sub["secret"]]
        wanted, other_practice, other_program = ev.member(), ev.member(), ev.member()
        notif_env.enroll(ev.roster(wanted, practice="P002", program="aco"),
                         ev.roster(other_practice, practice="P001", program="aco"),
                         ev.roster(other_program, practice="P002", program="medicare-advantage"))
        notif_env.produce([ev.gap_opened(other_practice, practice="P001"), ev.gap_opened(other_program, practice="P002"),
                           ev.gap_closed(wanted, practice="P002"), ev.gap_opened(wanted, practice="P002")])
        wait_for(lambda: rx.webhooks(), 30, what="the wanted member's gap")
        marker = ev.gap_opened(wanted, "CMS125", practice="P002")
        notif_env.produce([marker])
        wait_for(lambda: len(rx.webhooks()) >= 2, 30, what="the marker")
        got = rx.webhooks()
        assert [w["data"]["patient"] for w in got] == [f"Patient/{wanted}"] * 2
        assert {w["type"] for w in got} == {"care-gap-opened"}
    finally:
        rx.stop()


def test_a_receiver_answering_500_then_recovering_gets_everything_once_in_member_order(notif_env):
    rx = HttpReceiver(mode="fail").start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened", "care-gap-closed"],
                                  retry={"backoff_initial_s": 0.2, "backoff_max_s": 0.5})
        rx.secrets = [sub["secret"]]
        a, b = ev.member(), ev.member()
        notif_env.enroll(ev.roster(a), ev.roster(b))
        sent = [ev.gap_opened(a), ev.gap_closed(a), ev.gap_opened(a, "CMS125"), ev.gap_opened(b), ev.gap_closed(b)]
        notif_env.produce(sent)
        wait_for(lambda: rx.requests >= 4, 30, what="failed attempts")
        with notif_env.client() as c:
            status = c.get(f"/subscriptions/{sub['id']}/status").json()
        assert status["backlog"] == 5 and status["consecutive_failures"] >= 1 and status["status"] == "active"
        rx.mode = "ok"
        wait_for(lambda: len(rx.webhooks()) >= 5, 30, what="the backlog delivered")
        ids = [r.headers["webhook-id"] for r in rx.received]
        assert len(ids) == len(set(ids)) == 5, "no event delivered twice as new"
        for member, expected in ((a, sent[:3]), (b, sent[3:])):
            got = [r.headers["webhook-id"] for r in rx.received if r.doc["data"]["patient"] == f"Patient/{member}"]
            assert got == [str(notification_id(e.event_id, e.event_type.replace("gap.", "care-gap-")))
                           for e in expected]
        with notif_env.client() as c:
            attempts = c.get(f"/subscriptions/{sub['id']}/attempts", params={"limit": 1000}).json()
        failed = [x for x in attempts if not x["ok"]]
        assert failed and {x["status"] for x in failed} == {"500"}
        # only one probe at a time while failing: failed attempts fall on few events, not all five
        assert len({x["event_id"] for x in failed}) < 5
    finally:
        rx.stop()


def test_a_receiver_that_is_down_or_drops_connections_loses_nothing(notif_env):
    rx = HttpReceiver(mode="close").start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"], retry={"backoff_initial_s": 0.2, "backoff_max_s": 0.5})
        rx.secrets = [sub["secret"]]
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        notif_env.produce([ev.gap_opened(m, "CMS130")])
        wait_for(lambda: rx.requests >= 2, 30, what="connections closed on the sender")
        rx.stop()  # now nothing listens at all
        notif_env.produce([ev.gap_opened(m, "CMS125"), ev.gap_opened(m, "CMS122")])
        wait_for(lambda: notif_env.scalar(
            "SELECT count(*) FROM attempts WHERE subscription_id = :s AND status = 'connect'", s=sub["id"]) >= 1,
            30, what="connection refused attempts")
        rx.mode = "ok"
        rx.restart()
        wait_for(lambda: len(rx.webhooks()) >= 3, 30, what="all three delivered after the receiver came back")
        assert [w["data"]["event_number"] for w in rx.webhooks()] == [1, 2, 3]
        assert len(set(rx.ids())) == 3
    finally:
        rx.stop()


def test_a_receiver_back_from_an_outage_gets_its_backlog_within_seconds_not_at_the_end_of_the_backoff(notif_env):
    rx = HttpReceiver().start()
    rx.stop()  # nothing listens on its port: connections are refused
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"], retry={"backoff_initial_s": 120, "backoff_max_s": 120})
        rx.secrets = [sub["secret"]]
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        notif_env.produce([ev.gap_opened(m, "CMS130"), ev.gap_opened(m, "CMS125")])
        wait_for(lambda: notif_env.scalar(
            "SELECT count(*) FROM attempts WHERE subscription_id = :s AND status = 'connect'", s=sub["id"]) >= 1,
            30, what="a refused connection")
        rx.restart()
        # the next probe is 60-120 s away; a bare connection every few seconds finds the receiver back
        wait_for(lambda: len(rx.webhooks()) >= 2, 45, what="the backlog delivered soon after the receiver returned")
        assert [w["data"]["event_number"] for w in rx.webhooks()] == [1, 2]
        wait_for(lambda: notif_env.scalar("SELECT count(*) FROM deliveries WHERE subscription_id = :s "
                                          "AND state = 'delivered'", s=sub["id"]) == 2, 30, what="recorded")
        attempts = notif_env.rows("SELECT status FROM attempts WHERE subscription_id = :s ORDER BY id", s=sub["id"])
        assert [a.status for a in attempts] == ["connect", "200", "200"], "the checks are not attempts"
    finally:
        rx.stop()


def test_a_delivery_the_policy_gives_up_is_dead_lettered_and_the_subscription_shows_error(notif_env):
    rx = HttpReceiver(mode="fail").start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"],
                                  retry={"max_attempts": 3, "backoff_initial_s": 0.1, "backoff_max_s": 0.2})
        rx.secrets = [sub["secret"]]
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        gap = ev.gap_opened(m)
        notif_env.produce([gap])

        def errored():
            with notif_env.client() as c:
                s = c.get(f"/subscriptions/{sub['id']}").json()
            return s if s["status"] == "error" else None

        s = wait_for(errored, 30, what="subscription in error")
        assert "gave up after 3 attempts" in s["status_reason"] and "500" in s["status_reason"]
        # published to the dead-letter topic too: what, for whom, why (never the content or the URL)
        topic = notif_env.settings.topic("notifications.dead_letters")
        mine = lambda: [json.loads(m.value()) for m in read_topic(notif_env.settings, topic, 1, timeout=5, settle=0.2)
                        if json.loads(m.value())["subscription_id"] == sub["id"]]  # noqa: E731
        letters = wait_for(mine, 30, what="the dead letter on Kafka")
        assert len(letters) == 1
        letter = letters[0]
        assert (letter["event_type"], letter["notification_id"], letter["member_id"], letter["attempts"],
                letter["last_status"], letter["notification_topic"], letter["event_number"]) == (
            "notification.dead_lettered", str(notification_id(gap.event_id, "care-gap-opened")), m, 3, "500",
            "care-gap-opened", 1)
        assert "gave up after 3 attempts" in letter["reason"] and rx.url not in json.dumps(letter)
        later = ev.gap_opened(m, "CMS125")
        notif_env.produce([later])  # owed while in error: counted and held
        wait_for(lambda: notif_env.scalar("SELECT events_count FROM subscriptions WHERE id = :s", s=sub["id"]) == 2,
                 30, what="the later event counted")
        assert rx.requests == 3
        rx.mode = "ok"
        with notif_env.client() as c:
            assert c.post(f"/subscriptions/{sub['id']}/reactivate").json()["status"] == "active"
            wait_for(lambda: len(rx.webhooks()) == 1, 30, what="the held delivery sent after reactivation")
            assert c.post(f"/subscriptions/{sub['id']}/redeliver").json() == {"requeued": 1}
        wait_for(lambda: len(rx.webhooks()) == 2, 30, what="the dead letter redelivered")
        assert sorted(rx.ids()) == sorted([str(notification_id(gap.event_id, "care-gap-opened")),
                                           str(notification_id(later.event_id, "care-gap-opened"))])
    finally:
        rx.stop()


def test_secret_rotation_signs_with_both_secrets_during_the_overlap(notif_env):
    rx = HttpReceiver().start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"])
        old = sub["secret"]
        with notif_env.client() as c:
            new = c.post(f"/subscriptions/{sub['id']}/rotate-secret").json()["secret"]
            assert new.startswith("whsec_") and new != old
            assert c.get(f"/subscriptions/{sub['id']}").json()["secret"] is None, "a secret is shown once"
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        rx.secrets = [new]  # a receiver that already switched
        notif_env.produce([ev.gap_opened(m)])
        wait_for(lambda: rx.webhooks(), 30, what="verified with the new secret")
        signatures = rx.received[0].headers["webhook-signature"].split(" ")
        assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
        rx.secrets = [old]  # a receiver that has not switched yet
        notif_env.produce([ev.gap_opened(m, "CMS125")])
        wait_for(lambda: len(rx.webhooks()) == 2, 30, what="verified with the old secret")
        assert not rx.rejected
    finally:
        rx.stop()


def test_endpoints_on_private_link_local_or_local_names_are_refused(notif_env):
    with notif_env.client() as c:
        for url in ("http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data", "http://localhost:8080/x",
                    "http://[::1]/x", "http://192.168.1.10/x", "http://metadata.google.internal/x",
                    "ftp://example.org/x", "http://user:pw@example.org/x"):
            r = c.post("/subscriptions", json={"endpoint": url, "topics": ["encounter-start"]})
            assert r.status_code == 422, (url, r.text)
            assert "endpoint refused" in r.json()["detail"]
        # 127.0.0.1 is allowed here only because the test configured OUTBOUND_ALLOW_NETWORKS
        r = c.post("/subscriptions", json={"endpoint": "http://127.0.0.1:1/x", "topics": ["encounter-start"],
                                           "status": "off"})
        assert r.status_code == 201


def test_subscriptions_are_managed_by_ops_and_seen_by_their_practice_only(notif_env):
    from .conftest import OTHER_PRACTICE_KEY, PRACTICE_KEY

    with notif_env.client() as ops:
        mine = ops.post("/subscriptions", json={"endpoint": "http://127.0.0.1:1/a", "topics": ["care-gap-opened"],
                                                "practice_id": "P001", "status": "off"}).json()
        assert mine["filters"]["practices"] == ["P001"]
        clash = ops.post("/subscriptions", json={"endpoint": "http://127.0.0.1:1/a", "topics": ["care-gap-opened"],
                                                 "practice_id": "P001", "filters": {"practices": ["P002"]}})
        assert clash.status_code == 422
    with notif_env.client(PRACTICE_KEY) as p1, notif_env.client(OTHER_PRACTICE_KEY) as p2, \
            notif_env.client("dev-nurse-east1") as nurse:
        assert mine["id"] in {s["id"] for s in p1.get("/subscriptions").json()}
        assert all(s["practice_id"] == "P001" for s in p1.get("/subscriptions").json())
        assert p2.get(f"/subscriptions/{mine['id']}").status_code == 404
        assert p1.post("/subscriptions", json={"endpoint": "http://127.0.0.1:1/a",
                                               "topics": ["care-gap-opened"]}).status_code == 403
        assert p1.delete(f"/subscriptions/{mine['id']}").status_code == 403
        assert nurse.get("/subscriptions").json() == [] or all(
            s["practice_id"] is None for s in []), "a nurse sees no practice's subscriptions"
        assert p1.get(f"/subscriptions/{mine['id']}/deliveries").status_code == 200
    assert uuid.UUID(mine["id"])
