"""The intake pipeline shared by MLLP and HTTP: durability first, duplicates, dead letters."""

from __future__ import annotations

import asyncio
import json

from services.admissions.mllp.gateway import AdtGateway, GatewayConfig, MemoryDedupeStore
from services.admissions.mllp.hooks import Counters

from .builders import TZ, hl7_message


class Broken:
    async def __call__(self, *args):
        raise TimeoutError("down")

    async def get(self, *args):
        raise ConnectionError("db down")

    async def put(self, *args):
        raise ConnectionError("db down")


def gateway(published, dead, *, publish=None, dead_letter=None, dedupe=None, **cfg):
    async def _publish(event, raw):
        published.append(event)

    async def _dead(raw, reason, code):
        dead.append((raw, reason, code))

    return AdtGateway(publish or _publish, dead_letter or _dead, dedupe or MemoryDedupeStore(),
                      GatewayConfig(default_tz=TZ, **cfg), Counters())


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_when_the_dead_letter_cannot_be_written_the_answer_is_ae_207_not_a_nak():
    published, dead = [], []
    gw = gateway(published, dead, dead_letter=Broken())
    r = run(gw.handle(hl7_message("A99").encode()))
    assert r.ack.code == "AE" and "|207^" in r.ack.text
    assert gw.hooks.failures["dead_letter"] == 1


def test_a_slow_publish_times_out_into_ae():
    published, dead = [], []

    async def slow(event, raw):
        await asyncio.sleep(5)

    gw = gateway(published, dead, publish=slow, publish_timeout=0.05)
    r = run(gw.handle(hl7_message().encode()))
    assert r.ack.code == "AE" and r.event is None


def test_dedupe_store_down_still_accepts_and_counts():
    published, dead = [], []
    gw = gateway(published, dead, dedupe=Broken())
    r = run(gw.handle(hl7_message(control_id="X").encode()))
    assert r.ack.code == "AA" and len(published) == 1
    assert gw.hooks.failures["dedupe_get"] == 1 and gw.hooks.failures["dedupe_put"] == 1


def test_concurrent_duplicates_publish_once():
    published, dead = [], []

    async def slowish(event, raw):
        await asyncio.sleep(0.02)
        published.append(event)

    gw = gateway(published, dead, publish=slowish)
    raw = hl7_message(control_id="RACE").encode()

    async def go():
        return await asyncio.gather(*(gw.handle(raw) for _ in range(5)))

    results = run(go())
    assert len(published) == 1
    assert len({r.ack.data for r in results}) == 1 and sum(r.duplicate for r in results) == 4
    assert not gw._locks.locks, "no lock left behind"


def test_enhanced_mode_never_means_no_ack_on_the_wire_but_the_message_is_accepted():
    published, dead = [], []
    gw = gateway(published, dead)
    r = run(gw.handle(hl7_message(msh15="NE", msh16="AL").encode()))
    assert r.ack.code == "CA" and not r.ack.send and len(published) == 1


def test_a_bug_inside_the_pipeline_answers_ae_207_and_is_counted(monkeypatch):
    published, dead = [], []
    gw = gateway(published, dead)

    def broken(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr("services.admissions.mllp.gateway.to_adt_event", broken)
    r = run(gw.handle(hl7_message().encode()))
    assert r.ack.code == "AE" and "|207^" in r.ack.text
    assert gw.hooks.failures["internal"] == 1 and not published


def test_metrics_hooks_see_trigger_and_ack_code_only():
    published, dead = [], []
    gw = gateway(published, dead)
    run(gw.handle(hl7_message("A03").encode()))
    run(gw.handle(hl7_message("A99").encode()))
    run(gw.handle(b"garbage"))
    assert gw.hooks.messages == {("A03", "AA"): 1, ("unknown", "AR"): 2}
    assert gw.hooks.dead_letters == {201: 1, 100: 1}
    assert len(gw.hooks.latencies) == 3


JSON = {"trigger": "A01", "message_control_id": "J1", "sending_facility": "MERCY",
        "event_time": "2026-03-02T14:05:00-05:00",
        "patient_ids": [{"id": "100234", "assigning_authority": "MERCY", "id_type": "MR"}], "patient_class": "I"}


def test_json_ingest_accepts_dedupes_and_rejects():
    published, dead = [], []
    gw = gateway(published, dead)
    body = json.dumps(JSON).encode()
    first = run(gw.handle_json(body))
    again = run(gw.handle_json(body))
    bad = run(gw.handle_json(json.dumps(dict(JSON, trigger="Z1")).encode()))
    assert (first.status, first.http_status) == ("accepted", 202)
    assert (again.status, again.http_status, again.event_id) == ("duplicate", 200, first.event_id)
    assert (bad.status, bad.http_status) == ("rejected", 422) and "trigger" in bad.detail
    assert len(published) == 1 and published[0].source == "http:json"
    assert dead[0][0] == json.dumps(dict(JSON, trigger="Z1")).encode()
    assert json.loads(first.body()) == {"status": "accepted", "event_id": first.event_id}


def test_json_ingest_when_kafka_is_down_is_503():
    published, dead = [], []
    gw = gateway(published, dead, publish=Broken())
    r = run(gw.handle_json(json.dumps(JSON).encode()))
    assert (r.status, r.http_status) == ("error", 503)
