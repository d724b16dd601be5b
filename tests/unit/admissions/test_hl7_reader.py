"""The light HL7 reader: the message's own delimiters, escapes, HL7 numbering, and that bad
input only ever raises the reader's own error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.admissions.domain.hl7_errors import Hl7Error
from services.admissions.domain.hl7_reader import Hl7Message
from services.admissions.domain.validation import inspect

from .builders import TZ, hl7_message

A01 = hl7_message("A01", control_id="C1")


def test_fields_use_hl7_numbering_msh1_is_the_separator():
    m = Hl7Message.parse(A01)
    assert m.field("MSH", 1) == "|"
    assert m.field("MSH", 2) == "^~\\&"
    assert m.value("MSH", 3) == "EPICADT"
    assert m.value("MSH", 9, 2) == "A01"
    assert m.value("MSH", 10) == "C1"
    assert m.value("PID", 3, 4) == "MERCY"
    assert m.value("PV1", 19) == "V88812"
    assert m.value("PV1", 3, 2) == "412"


def test_absent_segments_fields_and_components_are_empty_not_errors():
    m = Hl7Message.parse(A01)
    assert m.value("ZZZ", 1) == ""
    assert m.value("PID", 99) == ""
    assert m.value("PID", 3, 9) == ""
    assert m.value("PID", 3, repetition=5) == ""
    assert m.value("DG1", 3, occurrence=7) == ""


def test_message_uses_its_own_delimiters():
    raw = ("MSH#*!$%#APP#FAC#R#RF#20260302##ADT*A01#C9#P#2.5.1\r"
           "PID#1##ID1*Y*X*AUTH%1.2%ISO*MR!ID2***OTHER*PI##A$F$B*C\r"
           "PV1#1#I")
    m = Hl7Message.parse(raw)
    assert (m.field_sep, m.component_sep, m.repetition_sep, m.escape_char, m.subcomponent_sep) == ("#", "*", "!", "$", "%")
    assert m.value("MSH", 9, 2) == "A01"
    assert m.repetitions("PID", 3) == ["ID1*Y*X*AUTH%1.2%ISO*MR", "ID2***OTHER*PI"]
    assert m.value("PID", 3, 4, 2) == "1.2"
    assert m.value("PID", 3, 4, repetition=2) == "OTHER"
    assert m.value("PID", 5) == "A#B"  # \F\ with "$" as the escape character is the field separator "#"


@pytest.mark.parametrize("sep", ["\r", "\r\n", "\n"])
def test_segment_separators_cr_crlf_lf(sep):
    m = Hl7Message.parse(hl7_message(sep=sep))
    assert m.segment_ids() == ["MSH", "EVN", "PID", "PV1", "DG1"]
    assert m.value("PV1", 19) == "V88812"


def test_escape_sequences():
    m = Hl7Message.parse(A01)
    assert m.unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f") == "a|b^c&d~e\\f"
    assert m.unescape("\\X0D0A\\") == "\r\n"
    assert m.unescape("caf\\XC3A9\\") == "café"  # UTF-8 bytes
    assert m.unescape("\\XE9\\") == "é"  # not UTF-8: ISO-8859-1
    assert m.unescape("bold \\H\\on\\N\\ off") == "bold \\H\\on\\N\\ off"  # formatting kept as is
    kept = "\\Zcustom\\ \\X0\\ \\XZZ\\ \\.br\\ \\\\"  # unknown, odd hex, bad hex, formatting, empty
    assert m.unescape(kept) == kept
    assert m.unescape("trailing \\ unterminated") == "trailing \\ unterminated"
    assert m.unescape("no escapes") == "no escapes"


def test_escaped_delimiters_do_not_split_fields_or_components():
    raw = A01.replace("Example^Ada", r"O\S\Brien\F\Jr^Ada\T\Marie")
    m = Hl7Message.parse(raw)
    assert m.value("PID", 5) == "O^Brien|Jr"
    assert m.value("PID", 5, 2) == "Ada&Marie"


def test_escape_round_trips_delimiters():
    m = Hl7Message.parse(A01)
    text = "a|b^c~d\\e&f"
    assert m.unescape(m.escape(text)) == text


def test_short_msh2_declares_only_the_delimiters_it_lists():
    m = Hl7Message.parse("MSH|^~\\|APP|AT&T|||20260302||ADT^A01|C1|P|2.5.1\rPV1|1|I")
    assert m.subcomponent_sep is None
    assert m.value("MSH", 4) == "AT&T"
    m2 = Hl7Message.parse("MSH|^|APP|FAC|||20260302||ADT^A01|C1|P|2.5.1")
    assert m2.repetition_sep is None and m2.escape_char is None
    assert m2.value("MSH", 9, 2) == "A01"


def test_empty_msh2_means_the_standard_delimiters():
    m = Hl7Message.parse("MSH||APP|FAC|||20260302||ADT^A01|C1|P|2.5.1")
    assert m.encoding_chars == ""
    assert (m.component_sep, m.repetition_sep, m.escape_char, m.subcomponent_sep) == ("^", "~", "\\", "&")
    assert m.value("MSH", 9, 2) == "A01"


def test_truncation_character_of_v27_is_accepted():
    m = Hl7Message.parse("MSH|^~\\&#|APP|FAC|||20260302||ADT^A01|C1|P|2.7")
    assert m.value("MSH", 12) == "2.7"


@pytest.mark.parametrize("raw,field", [
    ("MSHA^~\\&AAPP", 1),           # a letter as the field separator
    ("MSH ^~\\& APP", 1),           # a space
    ("MSH", 1),                     # nothing after MSH
    ("MSH|^~\\&xyz|APP", 2),        # MSH-2 too long
    ("MSH|^^\\&|APP", 2),           # repeated delimiter
    ("MSH|^~1&|APP", 2),            # a digit as a delimiter
])
def test_bad_envelope_delimiters_are_rejected(raw, field):
    with pytest.raises(Hl7Error) as exc:
        Hl7Message.parse(raw)
    assert exc.value.issue.reject and exc.value.issue.field == field


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\xff\xfe garbage", b"PID|1||123", b"BHS|^~\\&|A", "  \r\n"])
def test_no_msh_is_a_segment_sequence_rejection(raw):
    with pytest.raises(Hl7Error) as exc:
        Hl7Message.parse(raw)
    assert exc.value.issue.code == 100 and exc.value.issue.reject


def test_leading_whitespace_and_bom_before_msh_are_tolerated():
    assert Hl7Message.parse("\ufeff\r\n" + A01).value("MSH", 10) == "C1"


def test_latin1_bytes_decode_and_are_remembered_for_the_ack():
    m = Hl7Message.parse(A01.replace("Example", "Müller").encode("latin-1"))
    assert m.encoding == "latin-1" and m.value("PID", 5) == "Müller"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_the_readers_error(data):
    try:
        m = Hl7Message.parse(data)
    except Hl7Error:
        return
    for seg in ("MSH", "PID", "PV1", "DG1", "EVN"):
        for n in (1, 2, 3, 9, 10, 44):
            m.value(seg, n, 2, 2)
    inspect(data, TZ)  # never raises: problems are issues


_hl7ish = st.text(alphabet=st.sampled_from(list("MSHPIDV1EN|^~\\&#\r\nXF0AS29.-+ 0123456789")), max_size=300)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_hl7ish, _hl7ish.map(lambda s: "MSH|^~\\&|" + s)))
def test_arbitrary_hl7_like_text_never_escapes_as_another_exception(text):
    ins = inspect(text, TZ)
    if ins.message is not None:
        for seg in ins.message.segment_ids()[:5]:
            ins.message.value(seg, 3, 4, 2, repetition=2)
            ins.message.unescape(ins.message.field(seg, 2))
