"""The documented NAK for each kind of bad input (see validation.py's table), and what passes."""

from __future__ import annotations

import pytest

from shared.events import SUPPORTED_TRIGGERS

from services.admissions.domain.ack import build_ack
from services.admissions.domain.validation import SUPPORTED_VERSIONS, ValidationPolicy, inspect

from .builders import NOW, TZ, hl7_message


def nak(raw, policy=ValidationPolicy()):
    ins = inspect(raw, TZ, policy)
    ack = build_ack(ins.message, ins.fields, ins.issues, now=NOW)
    return ins, ack


def err_fields(ack_text: str) -> list[list[str]]:
    return [s.split("|") for s in ack_text.split("\r") if s.startswith("ERR")]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_every_supported_version_is_accepted(version):
    ins = inspect(hl7_message(version=version), TZ)
    assert ins.ok, ins.issues


@pytest.mark.parametrize("trigger", SUPPORTED_TRIGGERS)
def test_every_supported_trigger_is_accepted(trigger):
    raw = hl7_message(trigger, prior_mrn="99" if trigger == "A40" else "")
    assert inspect(raw, TZ).ok


BAD = {
    # name: (raw, ack code, table 0357 code, ERR-2 location)
    "no MSH": ("PID|1||100234^^^MERCY^MR\rPV1|1|I", "AR", 100, "MSH^1"),
    "wrong field separator": (hl7_message().replace("MSH|", "MSH1", 1), "AR", 102, "MSH^1^1"),
    "message cut inside MSH": ("MSH|^~\\&|EPICADT|MERCY|CCP", "AR", 101, "MSH^1^9^1^1"),  # MSH-9 is the first required field absent
    "two messages in one frame": (hl7_message() + "\r" + hl7_message(), "AR", 100, "MSH^2"),
    "non-ADT type (ORU)": (hl7_message().replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01"), "AR", 200, "MSH^1^9^1^1"),
    "unknown trigger": (hl7_message("A99"), "AR", 201, "MSH^1^9^1^2"),
    "not a v2 version": (hl7_message(version="3.0"), "AR", 203, "MSH^1^12"),
    "missing PID-3": (hl7_message(mrn=""), "AE", 101, "PID^1^3"),
    "impossible EVN-2": (hl7_message(event_time="20260230120000", message_time="20260302"), "AE", 102, "EVN^1^2"),
    "binary garbage": (b"\x00\xff\xfe\x10garbage\x80\x81", "AR", 100, "MSH^1"),
    "binary after MSH": (hl7_message().encode() + b"\r\x00\xff\x01\x02", "AE", 100, ""),
    "no PV1 on an admit": ("\r".join(s for s in hl7_message().split("\r") if not s.startswith("PV1")), "AE", 100, "PV1^1"),
    "A40 without MRG": (hl7_message("A40"), "AE", 100, "MRG^1"),
    "no control id": (hl7_message(control_id="\\E\\").replace("|\\E\\|", "||"), "AR", 101, "MSH^1^10"),
    "processing id": (hl7_message().replace("|P|2.5.1", "|X|2.5.1"), "AR", 202, "MSH^1^11"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_gets_its_documented_nak(name):
    raw, code, hl7_code, where = BAD[name]
    ins, ack = nak(raw)
    assert ack.code == code, [i.describe() for i in ins.issues]
    first = err_fields(ack.text)[0]
    assert first[3].startswith(f"{hl7_code}^"), first
    assert first[2] == where
    assert first[4] == "E" and first[8], "severity E and a readable message in ERR-8"


def test_an_envelope_rejection_does_not_also_report_content():
    ins, _ = nak(hl7_message(version="3.0", mrn=""))
    assert [i.code for i in ins.issues] == [203]


def test_several_content_errors_are_all_reported():
    ins, ack = nak(hl7_message(mrn="", event_time="20260230", message_time="20260302"))
    assert sorted(i.code for i in ins.issues) == [101, 102]
    assert len(err_fields(ack.text)) == 2


def test_error_texts_name_the_field_not_the_patients_values():
    raw = hl7_message(mrn="", event_time="20260231101010", message_time="20260302").replace("Example^Ada", "Secretname^Ada")
    _, ack = nak(raw)
    assert "Secretname" not in ack.text and "20260231101010" not in ack.text
    assert "PID-3" in ack.text and "EVN-2" in ack.text


def test_policy_narrows_what_is_accepted():
    only_p = ValidationPolicy(processing_ids=frozenset({"P"}))
    _, ack = nak(hl7_message().replace("|P|2.5.1", "|T|2.5.1"), only_p)
    assert ack.code == "AR"


def test_trigger_falls_back_to_evn1_when_msh9_has_none():
    ins = inspect(hl7_message("A03").replace("ADT^A03^ADT_A03", "ADT"), TZ)
    assert ins.ok and ins.fields.trigger == "A03"


@pytest.mark.parametrize("raw", [b"\x80MSH\r", b"\xe9MSH\nPID|1", b"MSH\r\xff"])
def test_non_ascii_bytes_around_a_bare_msh_get_a_nak_not_a_crash(raw):
    # Found by the long HL7 fuzz run: "MSH" alone on its line in a message that is not ASCII
    # made the MSH-18 reader split on an empty field separator (ValueError in the ACK path).
    ins, ack = nak(raw)
    assert not ins.ok
    assert ack.code in {"AE", "AR", "CR"} and not ack.accepted
