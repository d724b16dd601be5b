"""Reader → AdtEventV1, and JSON ADT → AdtEventV1."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shared import codec
from shared.errors import InvalidEvent
from shared.events import AdtEventV1

from services.admissions.domain.adt_event import adt_event_from_json, adt_event_id, patient_key_of, to_adt_event
from services.admissions.domain.validation import inspect

from .builders import NOW, TZ, adt, hl7_message

EST = timezone(timedelta(hours=-5))


def event_of(raw):
    ins = inspect(raw, TZ)
    assert ins.ok, ins.issues
    return to_adt_event(ins.fields, raw=ins.message.text, received_at=NOW, source="mllp:MERCY")


def test_a01_maps_every_field():
    e = adt("A01", "20260302140500", admit="20260302140000-0500", control_id="MSG000123")
    assert e.trigger == "A01" and e.message_control_id == "MSG000123"
    assert e.sending_application == "EPICADT" and e.sending_facility == "MERCY" and e.hl7_version == "2.5.1"
    assert e.patient_ids[0].id == "100234" and e.patient_ids[0].assigning_authority == "MERCY"
    assert e.patient_key == "MERCY|100234"
    assert e.patient_class == "I" and e.visit_number == "V88812"
    assert e.location.point_of_care == "4W" and e.location.room == "412" and e.location.facility == "MERCY"
    assert e.attending.family_name == "Osler"
    assert e.admit_time == datetime(2026, 3, 2, 14, 0, tzinfo=EST)
    assert e.diagnoses[0].code == "J18.9" and e.diagnoses[0].system == "I10"
    assert e.raw.startswith("MSH|") and "\rPV1|" in e.raw
    assert codec.decode(codec.encode(e)[1]) == e  # survives the wire format


def test_event_time_prefers_evn2_then_pv1_then_msh7():
    e = adt("A01", "20260302140500", admit="20260302120000")
    assert e.occurred_at == datetime(2026, 3, 2, 14, 5, tzinfo=TZ)
    no_evn2 = hl7_message(event_time="", message_time="20260302150000", admit="20260302120000",
                          discharge="20260305100000")
    e, _ = event_of(no_evn2)
    assert e.occurred_at == datetime(2026, 3, 2, 12, 0, tzinfo=TZ)
    e, _ = event_of(no_evn2.replace("ADT^A01^ADT_A01", "ADT^A03^ADT_A03").replace("EVN|A01", "EVN|A03"))
    assert e.occurred_at == datetime(2026, 3, 5, 10, 0, tzinfo=TZ), "A03 takes the discharge time"
    e, _ = event_of(hl7_message(event_time="", message_time="20260302150000"))
    assert e.occurred_at == datetime(2026, 3, 2, 15, 0, tzinfo=TZ)


def test_no_time_at_all_is_a_required_field_error():
    ins = inspect(hl7_message(event_time="", message_time=""), TZ)
    assert not ins.ok and ins.issues[0].code == 101 and ins.issues[0].segment == "EVN"


def test_patient_key_prefers_the_mr_identifier():
    raw = hl7_message().replace("100234^^^MERCY^MR", "555^^^SSA^SS~100234^^^MERCY&2.16.840&ISO^MR")
    e, _ = event_of(raw)
    assert [p.id_type for p in e.patient_ids] == ["SS", "MR"]
    assert e.patient_key == "MERCY|100234"
    assert patient_key_of(({"id": "9", "assigning_authority": None, "id_type": None},)) == "|9"


def test_event_id_is_deterministic_by_facility_and_control_id():
    a, b = adt(control_id="X1"), adt(control_id="X1")
    assert a.event_id == b.event_id == adt_event_id("MERCY", "X1")
    assert adt(control_id="X2").event_id != a.event_id
    assert adt(control_id="X1", facility="OTHER").event_id != a.event_id


def test_an_identifier_longer_than_the_contract_is_left_out_and_without_another_one_the_message_is_refused():
    # issue 12: an overlong repetition is left out with a warning (it was a 102 refusal of the message)
    ins = inspect(hl7_message(mrn="9" * 80), TZ)
    assert not ins.ok
    assert (ins.issues[0].code, ins.issues[0].segment, ins.issues[0].field) == (101, "PID", 3)
    assert "9" * 80 not in ins.issues[0].text
    ins = inspect(hl7_message().replace("100234^^^MERCY^MR", "9" * 80 + "^^^MERCY^MR~100234^^^MERCY^MR"), TZ)
    assert ins.ok and [w.field for w in ins.warnings] == ["PID-3"]
    assert "9" * 80 not in ins.warnings[0].text


def test_a40_carries_the_prior_identifiers():
    e = adt("A40", prior_mrn="777")
    assert [p.key() for p in e.prior_patient_ids] == ["MERCY|777"]


# ----------------------------------------------------------------------------- JSON

JSON = {
    "trigger": "A01", "message_control_id": "J1", "sending_facility": "MERCY",
    "event_time": "2026-03-02T14:05:00", "patient_ids": [{"id": "100234", "assigning_authority": "MERCY", "id_type": "MR"}],
    "patient_class": "I", "visit_number": "V1", "location": {"point_of_care": "4W"},
    "diagnoses": [{"code": "J18.9"}],
}


def test_json_adt_maps_to_the_same_model_with_the_feed_zone_for_naive_times():
    e = adt_event_from_json(json.dumps(JSON).encode(), received_at=NOW, default_tz=TZ, source="http:json")
    assert isinstance(e, AdtEventV1)
    assert e.occurred_at == datetime(2026, 3, 2, 14, 5, tzinfo=TZ)
    assert e.patient_key == "MERCY|100234" and e.event_id == adt_event_id("MERCY", "J1")
    assert json.loads(e.raw)["message_control_id"] == "J1"
    assert e.hl7_version is None, "JSON ingest has no HL7 version unless the feed gives one"


def test_json_time_falls_back_like_hl7():
    body = dict(JSON, event_time=None, trigger="A03", discharge_time="2026-03-05T10:00:00-05:00")
    e = adt_event_from_json(body, received_at=NOW, default_tz=TZ, source="http:json")
    assert e.occurred_at == datetime(2026, 3, 5, 10, tzinfo=EST)


@pytest.mark.parametrize("body,field", [
    (b"not json", "JSON"),
    (b"[1,2]", "object"),
    (json.dumps(dict(JSON, trigger="A99")).encode(), "trigger"),
    (json.dumps(dict(JSON, patient_ids=[])).encode(), "patient_ids"),
    (json.dumps(dict(JSON, secret_field="Secretname")).encode(), "secret_field"),
    (json.dumps(dict(JSON, event_time=None)).encode(), "event_time"),
])
def test_bad_json_is_invalid_with_a_reason_that_repeats_no_values(body, field):
    with pytest.raises(InvalidEvent) as exc:
        adt_event_from_json(body, received_at=NOW, default_tz=TZ, source="http:json")
    assert field in exc.value.reason
    assert "Secretname" not in exc.value.reason and "A99" not in exc.value.reason
