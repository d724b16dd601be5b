"""The light reader and python-hl7's full parse extract the same fields."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hl7

from services.admissions.domain.adt_fields import extract
from services.admissions.domain.hl7_errors import Hl7Error
from services.admissions.domain.hl7_full import extract_full, full_parse
from services.admissions.domain.hl7_reader import Hl7Message

from .builders import TZ, hl7_message

CORPUS = {
    "plain A01": hl7_message(),
    "A03 with disposition": hl7_message("A03", discharge="20260305113000-0500", disposition="01"),
    "A40 merge": hl7_message("A40", prior_mrn="777~778^^^OTHER^PI"),
    "repetitions and subcomponents": hl7_message().replace(
        "100234^^^MERCY^MR", "100234^^^MERCY&2.16.840.1&ISO^MR~555-12^^^SSA^SS~^^^EMPTY^XX~77^^^&1.2.3&ISO^PI"),
    "escaped delimiters in ids and names": hl7_message(mrn="A\\S\\B\\T\\C", visit="V\\F\\1\\R\\2\\E\\").replace(
        "1922334455^Osler^William", "19\\X41\\^O\\S\\Brien^Mary\\T\\Ann~2^Second^Doc"),
    "hex escapes": hl7_message(diagnoses=("J18.9^Pneumonia\\X2C\\ unspecified^I10",)),
    "unknown and formatting escapes kept": hl7_message(diagnoses=("J18.9^a\\H\\bold\\N\\ \\.br\\ \\Zx\\ \\\\^I10",)),
    "custom delimiters": ("MSH#*!$%#APP#FAC*9.9*ISO#R#RF#20260302##ADT*A08*ADT_A01#C9#P#2.4\r"
                          "EVN#A08#20260302\rPID#1##ID1*Y*X*AUTH%1.2%ISO*MR!ID$S$2***OTHER*PI\r"
                          "PV1#1#E#ER*1*A*FAC%U%ISO###PREV*2####################V7########"
                          "#################20260302100000\rDG1#1##R07.9*Chest pain*I10"),
    "short MSH-2": "MSH|^~\\|APP|AT&T|||20260302||ADT^A04|C1|P|2.5\rPID|1||9^^^A&B^MR\rPV1|1|E|ED^^^AT&T",
    "empty MSH-2": "MSH||APP|FAC|||20260302||ADT^A04|C1|P|2.5\rPID|1||9^^^FAC^MR\rPV1|1|E",
    "LF separators": hl7_message(sep="\n"),
    "CRLF separators": hl7_message(sep="\r\n"),
    "DG1 description from DG1-4": hl7_message(diagnoses=("E11.9^^I10",)).replace(
        "DG1|1||E11.9^^I10||", "DG1|1||E11.9^^I10|Diabetes|"),
    "DG1 without code skipped": hl7_message(diagnoses=("", "I10^HTN^I10")),
    "no PV1": "\r".join(s for s in hl7_message("A40", prior_mrn="1").split("\r") if not s.startswith("PV1")),
    "bad dates": hl7_message(event_time="20260230", admit="2026030299"),
    "empty fields": "MSH|^~\\&|||||||ADT^A01|||2.5.1\rPID|||\rPV1||",
}


@pytest.mark.parametrize("name", CORPUS)
def test_reader_and_python_hl7_agree(name):
    raw = CORPUS[name]
    light, light_issues = extract(Hl7Message.parse(raw), TZ)
    full, full_issues = extract_full(raw, TZ)
    assert full == light
    assert full_issues == light_issues


def test_agreement_covers_escapes_and_repetitions_for_real():
    f, _ = extract_full(CORPUS["escaped delimiters in ids and names"], TZ)
    assert f.patient_ids[0]["id"] == "A^B&C"
    assert f.visit_number == "V|1~2\\"
    assert f.attending == {"id": "19A", "family_name": "O^Brien", "given_name": "Mary&Ann"}
    r, _ = extract_full(CORPUS["repetitions and subcomponents"], TZ)
    assert [(p["id"], p["assigning_authority"], p["id_type"]) for p in r.patient_ids] == [
        ("100234", "MERCY", "MR"), ("555-12", "SSA", "SS"), ("77", "1.2.3", "PI")]


def test_full_parse_returns_python_hl7s_message():
    m = full_parse(CORPUS["plain A01"])
    assert isinstance(m, hl7.Message)
    assert str(m.segment("PV1")[19]) == "V88812"


def test_full_parse_refuses_what_the_reader_refuses():
    with pytest.raises(Hl7Error):
        full_parse(b"\x00garbage")


_value = st.text(alphabet=st.sampled_from(list("AB12 .-^~&\\FSTREX0D")), max_size=12)


@settings(max_examples=150, deadline=None)
@given(mrn=_value, name=_value, visit=_value, dx=_value)
def test_agreement_on_generated_values(mrn, name, visit, dx):
    raw = hl7_message(mrn=mrn or "1", visit=visit, diagnoses=(dx,)).replace("Osler", name)
    light, _ = extract(Hl7Message.parse(raw), TZ)
    full, _ = extract_full(raw, TZ)
    assert full == light
