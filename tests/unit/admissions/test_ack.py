"""ACK shape: codes by mode, MSA-2 echo, swapped sender/receiver, the message's delimiters,
ERR in the v2.5 and the v2.3/2.4 forms, MSH-15 deciding whether an accept ACK is sent."""

from __future__ import annotations

import pytest

from services.admissions.domain.ack import ack_code, build_ack
from services.admissions.domain.hl7_errors import Hl7Issue
from services.admissions.domain.validation import inspect

from .builders import NOW, TZ, hl7_message


def ack_for(raw, issues=None):
    ins = inspect(raw, TZ)
    return build_ack(ins.message, ins.fields, ins.issues if issues is None else issues, now=NOW)


def segs(ack):
    return {s[:3]: s.split(s[3]) for s in ack.text.rstrip("\r").split("\r")}


def test_original_mode_accept_echoes_control_id_and_swaps_sender_and_receiver():
    raw = hl7_message(control_id="CTRL-77").replace("|EPICADT|MERCY|CCP|CCP|", "|EPICADT|MERCY^1.2.3^ISO|CCPAPP|CCPFAC|")
    a = ack_for(raw)
    s = segs(a)
    assert a.code == "AA" and a.send
    assert s["MSA"][1:3] == ["AA", "CTRL-77"]
    assert s["MSH"][2:6] == ["CCPAPP", "CCPFAC", "EPICADT", "MERCY^1.2.3^ISO"]
    assert s["MSH"][8] == "ACK^A01^ACK" and s["MSH"][11] == "2.5.1"
    assert "ERR" not in s and a.text.endswith("\r")


@pytest.mark.parametrize("msh15,msh16,expect", [("AL", "", "CA"), ("", "NE", "CA"), ("AL", "AL", "CA")])
def test_enhanced_mode_answers_with_commit_codes(msh15, msh16, expect):
    assert ack_for(hl7_message(msh15=msh15, msh16=msh16)).code == expect


@pytest.mark.parametrize("enhanced,issue_reject,expect", [
    (False, False, "AE"), (False, True, "AR"), (True, False, "CR"), (True, True, "CR")])
def test_error_and_reject_codes_by_mode(enhanced, issue_reject, expect):
    # issue 12: in enhanced mode a content problem is a commit reject (CR), never CE (was CE)
    assert ack_code([Hl7Issue(101, "x", reject=issue_reject)], enhanced) == expect


def test_ce_only_means_not_stored_send_again():
    assert ack_code([Hl7Issue(207, "not stored")], enhanced=True) == "CE"
    assert ack_code([Hl7Issue(207, "not stored"), Hl7Issue(101, "x")], enhanced=True) == "CR"
    assert ack_code([Hl7Issue(101, "x")], enhanced=True, application=True) == "AE"


@pytest.mark.parametrize("msh15,ok_sent,error_sent", [
    ("AL", True, True), ("NE", False, False), ("ER", False, True), ("SU", True, False), ("", True, True)])
def test_msh15_decides_whether_the_accept_ack_is_sent(msh15, ok_sent, error_sent):
    ok = ack_for(hl7_message(msh15=msh15, msh16="AL"))
    bad = ack_for(hl7_message(msh15=msh15, msh16="AL", mrn=""))
    assert (ok.send, bad.send) == (ok_sent, error_sent)


def test_ack_uses_the_messages_delimiters():
    raw = ("MSH#*!$%#APP#FAC#RAPP#RFAC#20260302##ADT*A01*ADT_A01#C9#P#2.5.1\r"
           "EVN#A01#20260302\rPID#1###Example\rPV1#1#I")
    a = ack_for(raw)
    s = a.text.split("\r")
    assert s[0].startswith("MSH#*!$%#RAPP#RFAC#APP#FAC#") and "#ACK*A01*ACK#" in s[0]
    assert s[1] == "MSA#AE#C9"
    assert s[2].startswith("ERR##PID*1*3#101*Required field missing*HL70357#E####")


def test_v25_err_segment_fields():
    err = segs(ack_for(hl7_message(mrn="")))["ERR"]
    assert err[2] == "PID^1^3"                              # ERR-2 location
    assert err[3] == "101^Required field missing^HL70357"   # ERR-3 HL7 error code, table 0357
    assert err[4] == "E"                                    # ERR-4 severity
    assert "PID-3" in err[8]                                # ERR-8 user message


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4"])
def test_v23_v24_use_err1_and_msa_text(version):
    a = ack_for(hl7_message(version=version, mrn=""))
    s = segs(a)
    assert s["ERR"][1] == "PID^1^3^101&Required field missing&HL70357"
    assert "PID-3" in s["MSA"][3] and s["MSA"][6] == "101^Required field missing^HL70357"
    assert s["MSH"][8] == ("ACK^A01" if version == "2.3" else "ACK^A01^ACK")


def test_unreadable_message_gets_a_reject_with_default_delimiters_and_empty_msa2():
    a = ack_for(b"\x00\x01 not hl7")
    s = segs(a)
    assert a.code == "AR" and s["MSA"][1:3] == ["AR", ""]
    assert s["MSH"][1] == "^~\\&" and s["MSH"][2:4] == ["CCP", "CCP"]


def test_texts_with_delimiters_are_escaped():
    a = ack_for(hl7_message(), [Hl7Issue(207, "a|b^c&d", reject=False)])
    assert "a\\F\\b\\S\\c\\T\\d" in a.text


def test_same_message_same_outcome_gives_the_same_ack_control_id():
    raw = hl7_message(control_id="SAME")
    assert segs(ack_for(raw))["MSH"][9] == segs(ack_for(raw))["MSH"][9]
    assert len(segs(ack_for(raw))["MSH"][9]) <= 20


def test_latin1_message_gets_a_latin1_ack():
    raw = hl7_message().replace("|CCP|CCP|", "|CCP|Clínica|").encode("latin-1")
    a = ack_for(raw)
    assert "Clínica".encode("latin-1") in a.data
