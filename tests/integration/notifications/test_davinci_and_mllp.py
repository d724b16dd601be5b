"""Da Vinci Unsolicited Notifications to a real ``$process-message`` receiver (every Bundle
parsed with fhir.resources) and HL7 v2 ADT forward to a real MLLP receiver that ACKs."""

from __future__ import annotations

from tests.support.procs import wait_for

from . import events as ev
from .conftest import start
from .receivers import HttpReceiver, MllpReceiver


def test_da_vinci_admit_transfer_and_discharge_messages(notif_env):
    rx = HttpReceiver().start()
    try:
        sub = notif_env.subscribe(rx.url + "/fhir", ["encounter-start", "encounter-transfer", "encounter-end"],
                                  channel="davinci", headers=["Authorization: Bearer xyz"])
        assert sub["content"] == "full-resource"
        m = ev.member()
        notif_env.enroll(ev.roster(m))
        alert = ev.admit(m)
        notif_env.produce([alert, ev.transfer(alert)])  # a bed move: no Da Vinci transfer
        wait_for(lambda: len(rx.received) >= 1, 30, what="the admit message")
        notif_env.produce([ev.transfer(alert, facility="STLUKE")])
        wait_for(lambda: len(rx.received) >= 2, 30, what="the transfer message")
        notif_env.produce([ev.discharge(alert)])
        wait_for(lambda: len(rx.received) >= 3, 30, what="the discharge message")
        assert not rx.rejected, rx.rejected
        codes = []
        for r in rx.received:
            assert r.path == "/fhir/$process-message" and r.headers["authorization"] == "Bearer xyz"
            b = r.doc
            assert b["type"] == "message" and b["entry"][0]["resource"]["resourceType"] == "MessageHeader"
            header = b["entry"][0]["resource"]
            codes.append(header["eventCoding"]["code"])
            full = {e["fullUrl"] for e in b["entry"]}
            focus = header["focus"][0]["reference"]
            assert focus in full, "the focus Encounter is inside the Bundle"
            enc = next(e["resource"] for e in b["entry"] if e["fullUrl"] == focus)
            assert enc["subject"]["reference"] in full and enc["location"][0]["location"]["reference"] in full
            assert all("request" not in e and "response" not in e for e in b["entry"])
        assert codes == ["notification-admit", "notification-transfer", "notification-discharge"]
        assert rx.received[2].doc["entry"][1]["resource"]["status"] == "finished"
    finally:
        rx.stop()


def test_hl7_forward_waits_for_the_ack_retries_naks_and_keeps_msh10(notif_env):
    rx = MllpReceiver(ack_code="AE").start()
    try:
        sub = notif_env.subscribe(rx.url, ["adt-feed"], channel="mllp",
                                  hl7={"segments": ["EVN", "PID", "PV1"], "triggers": ["A01", "A03"]},
                                  retry={"backoff_initial_s": 0.2, "backoff_max_s": 0.4})
        assert sub["max_in_flight"] == 1
        m = ev.member()
        notif_env.enroll(ev.roster(m, mrn="M" + m[-7:]))
        a01 = ev.adt(m, mrn="M" + m[-7:], trigger="A01")
        a08 = ev.adt(m, mrn="M" + m[-7:], trigger="A08")  # not in the configured triggers
        a03 = ev.adt(m, mrn="M" + m[-7:], trigger="A03")
        notif_env.produce([a01, a08, a03])
        wait_for(lambda: notif_env.scalar("SELECT count(*) FROM attempts WHERE subscription_id = :s AND status = 'AE'",
                                          s=sub["id"]) >= 2, 30, what="AE answers")
        rx.ack_code = "AA"
        wait_for(lambda: len(rx.messages) >= 2, 30, what="both messages accepted")
        got = rx.messages
        assert [msg.split("\r")[0].split("|")[9] for msg in got] == [a01.message_control_id, a03.message_control_id]
        assert [s[:3] for s in got[0].strip("\r").split("\r")] == ["MSH", "EVN", "PID", "PV1"], "DG1 not forwarded"
        def settled():
            with notif_env.client() as c:
                st = c.get(f"/subscriptions/{sub['id']}/status").json()
            return st if st["backlog"] == 0 else None

        status = wait_for(settled, 30, what="the ACKs recorded")
        assert status["delivered"] == 2 and status["success_rate"] < 1
    finally:
        rx.stop()


def test_an_hl7_message_that_came_before_the_roster_named_its_patient_is_forwarded_when_it_does(notif_env):
    rx = MllpReceiver().start()
    try:
        sub = notif_env.subscribe(rx.url, ["adt-feed"], channel="mllp")
        m = ev.member()
        mrn = "H" + m[-7:]
        early = ev.adt(m, mrn=mrn, trigger="A01")
        notif_env.produce([early])
        wait_for(lambda: notif_env.scalar("SELECT count(*) FROM held_adt WHERE event_id = :e",
                                          e=str(early.event_id)) == 1, 30, what="the message held")
        assert rx.messages == []
        notif_env.enroll(ev.roster(m, mrn=mrn))
        wait_for(lambda: len(rx.messages) == 1, 30, what="forwarded once the roster named the patient")
        assert rx.messages[0].split("\r")[0].split("|")[9] == early.message_control_id
        assert notif_env.scalar("SELECT count(*) FROM held_adt WHERE event_id = :e", e=str(early.event_id)) == 0
        assert notif_env.scalar("SELECT events_count FROM subscriptions WHERE id = :s", s=sub["id"]) == 1
    finally:
        rx.stop()


def test_two_worker_processes_share_the_deliveries_without_sending_any_twice(notif_env):
    second = start(notif_env, "worker")
    rx = HttpReceiver().start()
    try:
        sub = notif_env.subscribe(rx.url, ["care-gap-opened"])
        rx.secrets = [sub["secret"]]
        members = [ev.member() for _ in range(20)]
        notif_env.enroll(*[ev.roster(m) for m in members])
        sent = [ev.gap_opened(m, measure) for m in members for measure in ("CMS130", "CMS125", "CMS122")]
        notif_env.produce(sent)
        wait_for(lambda: len(rx.webhooks()) >= len(sent), 60, what="every gap delivered")
        ids = rx.ids()
        assert len(ids) == len(set(ids)) == len(sent)
        for m in members:  # in order per member
            got = [w["data"]["event_number"] for w in rx.webhooks() if w["data"]["patient"] == f"Patient/{m}"]
            assert got == sorted(got)
        owners = notif_env.rows("SELECT DISTINCT dispatcher FROM attempts WHERE subscription_id = :s", s=sub["id"])
        assert len(owners) >= 1
    finally:
        rx.stop()
        second.stop()
