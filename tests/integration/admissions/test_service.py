"""The three admissions processes together on real Kafka and PostgreSQL: a roster, an admit over
MLLP, the alert in the hospitalist's inbox and SSE stream, acknowledgment, census, encounters,
authorization and audit; HTTP ingest of HL7 and JSON."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import date

import httpx
from sqlalchemy import create_engine, text

from shared.kafka import EventProducer
from tests.support.procs import read_topic, wait_for
from tests.unit.admissions.builders import hl7_message, roster

from .conftest import MllpConn, msa

NORTH = {"X-API-Key": "dev-hospitalist-hg-north"}
SOUTH = {"X-API-Key": "dev-hospitalist-hg-south"}
ADMIN = {"X-API-Key": "dev-admin"}
FEED = {"X-API-Key": "dev-feed-adt"}
NURSE = {"X-API-Key": "dev-nurse-east1"}


def _send(settings, *events):
    async def go():
        producer = EventProducer(settings, client_id="test")
        try:
            for e in events:
                await producer.send(e)
        finally:
            producer.close()
    asyncio.run(go())


class SseReader(threading.Thread):
    """Reads an SSE stream until the first ``alert.raised`` event."""

    def __init__(self, url: str, headers: dict) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.connected = threading.Event()
        self.alert: dict | None = None

    def run(self) -> None:
        with httpx.stream("GET", self.url, headers=self.headers, timeout=60) as r:
            event = None
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "alert.raised":
                    self.alert = json.loads(line[6:])
                    return


def test_admit_over_mllp_reaches_the_right_hospitalist_inbox_and_stream_with_audit(admissions):
    settings = admissions.settings
    admissions.start("worker")
    _, api_ports = admissions.start("api")
    _, mllp_ports = admissions.start("mllp")
    api = f"http://127.0.0.1:{api_ports['API_PORT']}"
    _send(settings, roster("M1", start=date(2025, 1, 1)))
    wait_for(lambda: httpx.get(f"{api}/members/M1/encounters", headers=ADMIN).status_code == 200,
             30, what="the roster applied")

    stream = SseReader(f"{api}/alerts/stream", NORTH)
    stream.start()
    assert stream.connected.wait(10)
    south_stream = httpx.get(f"{api}/alerts/stream?group=HG-NORTH", headers=SOUTH)
    assert south_stream.status_code == 403

    conn = MllpConn(mllp_ports["MLLP_PORT"])
    assert msa(conn.roundtrip(hl7_message("A01", control_id="E2E-1", event_time="20260302140500")))[1] == "AA"
    conn.close()

    inbox = wait_for(lambda: httpx.get(f"{api}/alerts", headers=NORTH).json(), 30, what="the alert in the inbox")
    assert len(inbox) == 1
    alert = inbox[0]
    assert (alert["member_id"], alert["kind"], alert["hospitalist_group"], alert["pcp_practice_id"],
            alert["contract_id"]) == ("M1", "inpatient_admit", "HG-NORTH", "P001", "MMO-2026")
    stream.join(10)
    assert stream.alert is not None and stream.alert["alert_id"] == alert["alert_id"]

    assert httpx.get(f"{api}/alerts", headers=SOUTH).json() == [], "another group's hospitalist sees nothing"
    assert httpx.post(f"{api}/alerts/{alert['alert_id']}/acknowledge", headers=SOUTH).status_code == 404
    acked = httpx.post(f"{api}/alerts/{alert['alert_id']}/acknowledge", headers=NORTH)
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "hospitalist.hg-north"
    assert httpx.get(f"{api}/alerts", headers=NORTH).json() == []
    assert len(httpx.get(f"{api}/alerts?status=acknowledged", headers=NORTH).json()) == 1

    assert httpx.get(f"{api}/census/facilities", headers=NORTH).json() == [{"facility": "MERCY", "inpatients": 1}]
    practices = httpx.get(f"{api}/census/practices", headers=ADMIN).json()
    assert practices == [{"practice_id": "P001", "total": 1, "facilities": {"MERCY": 1}}]
    members = httpx.get(f"{api}/census/facilities/MERCY/members", headers=NORTH).json()
    assert [m["member_id"] for m in members] == ["M1"]
    assert httpx.get(f"{api}/census/facilities/MERCY/members", headers=SOUTH).json() == []
    encounters = httpx.get(f"{api}/members/M1/encounters", headers=NORTH).json()
    assert [(e["encounter_key"], e["status"]) for e in encounters] == [("MERCY|V88812", "active")]
    assert httpx.get(f"{api}/members/M1/encounters", headers=SOUTH).status_code == 404

    # authentication and roles
    assert httpx.get(f"{api}/alerts").status_code == 401
    assert httpx.get(f"{api}/alerts", headers={"X-API-Key": "wrong"}).status_code == 401
    assert httpx.get(f"{api}/alerts", headers=NURSE).status_code == 403
    assert httpx.get(f"{api}/census/facilities", headers=FEED).status_code == 403
    assert httpx.post(f"{api}/ingest/adt", headers={**NURSE, "content-type": "text/plain"},
                      content=hl7_message("A03")).status_code == 403

    engine = create_engine(admissions.pg_url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT user_id, member_id, action, endpoint FROM audit_log ORDER BY id")).fetchall()
    engine.dispose()
    seen = {(r.user_id, r.member_id, r.action, r.endpoint) for r in rows}
    assert ("hospitalist.hg-north", "M1", "read", "/alerts/stream") in seen
    assert ("hospitalist.hg-north", "M1", "read", "/alerts") in seen
    assert ("hospitalist.hg-north", "M1", "write", "/alerts/{alert_id}/acknowledge") in seen
    assert ("hospitalist.hg-north", "M1", "read", "/members/{member_id}/encounters") in seen
    assert not any(r.user_id == "hospitalist.hg-south" and r.member_id for r in rows), "nothing shown, nothing logged"


def test_http_ingest_of_hl7_and_json_uses_the_gateway_semantics(admissions):
    settings = admissions.settings
    admissions.start("worker")
    _, ports = admissions.start("api")
    api = f"http://127.0.0.1:{ports['API_PORT']}/ingest/adt"
    _send(settings, roster("M1", start=date(2025, 1, 1)))

    admit = hl7_message("A01", control_id="H-1", event_time="20260302140500")
    r = httpx.post(api, headers={**FEED, "content-type": "application/hl7-v2"}, content=admit)
    assert r.status_code == 200 and msa(r.text)[1:3] == ["AA", "H-1"]
    again = httpx.post(api, headers={**FEED, "content-type": "text/plain"}, content=admit)
    assert again.status_code == 200 and again.text == r.text
    bad = httpx.post(api, headers={**FEED, "content-type": "text/plain"}, content=hl7_message("A99", control_id="H-2"))
    assert bad.status_code == 422 and msa(bad.text)[1] == "AR"

    discharge = {"trigger": "A03", "message_control_id": "J-1", "sending_facility": "MERCY",
                 "event_time": "2026-03-06T11:00:00", "discharge_time": "2026-03-06T11:00:00",
                 "patient_ids": [{"id": "100234", "assigning_authority": "MERCY", "id_type": "MR"}],
                 "visit_number": "V88812", "patient_class": "I", "discharge_disposition": "01"}
    ok = httpx.post(api, headers=FEED, json=discharge)
    assert ok.status_code == 202 and ok.json()["status"] == "accepted"
    dup = httpx.post(api, headers=FEED, json=discharge)
    assert dup.status_code == 200 and dup.json() == {"status": "duplicate", "event_id": ok.json()["event_id"]}
    invalid = httpx.post(api, headers=FEED, json={**discharge, "message_control_id": "J-2", "patient_ids": []})
    assert invalid.status_code == 422 and "patient_ids" in invalid.json()["detail"]
    assert httpx.post(api, headers={**FEED, "content-type": "application/xml"}, content=b"<x/>").status_code == 415
    big = httpx.post(api, headers={**FEED, "content-type": "text/plain"},
                     content=hl7_message("A01", control_id="H-BIG") + "\rZBG|" + "x" * (2 << 20))
    assert big.status_code == 413 and msa(big.text)[1:3] == ["AR", "H-BIG"]

    transitions = read_topic(settings, settings.topic("care.transitions"), expect=1, settle=0.5)
    body = json.loads(transitions[0].value())
    assert body["event_type"] == "care.transition" and body["member_id"] == "M1"
    assert body["contact_due"] == "2026-03-10"  # Friday → Tuesday
    adt = read_topic(settings, settings.topic("adt.events"), expect=2, settle=0.5)
    versions = sorted((json.loads(m.value())["hl7_version"] or "") for m in adt)
    assert versions == ["", "2.5.1"], "JSON ingest carries no HL7 version"
    dead = read_topic(settings, settings.topic("adt.events.dlq"), expect=3, settle=0.5)
    assert len(dead) == 3  # the A99, the JSON without patient ids, the head of the 2 MB message
