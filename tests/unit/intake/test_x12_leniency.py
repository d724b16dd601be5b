"""The lenient X12 reading: delimiters and terminators as real senders write them, versions,
dependents, diagnoses, and the validating path that never crashes (pyx12 underneath)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.adapters.x12_validate import validate_837
from services.intake.domain import ParsedClaim, Rejection
from services.intake.domain.x12_837 import Parser837
from services.intake.domain.x12_ack import merge_999
from services.intake.domain.x12_tokens import Tokens, X12FormatError
from services.intake.domain.x12_versions import set_version, unsupported_reason
from services.intake.adapters.ownership import INTERRUPTED, OVERDUE, current_owner, stale_reason

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "x12"
BASE = (FIX / "837p_office_and_adjustments.x12").read_text()  # 2 sets, 4 claims, "~\n"


def parse(text: str) -> tuple[list, Parser837]:
    p = Parser837("t.x12")
    return list(p.records(io.StringIO(text, newline=""))), p


def loaded(text: str) -> list[str]:
    out, _ = parse(text)
    return [r.claim_id for r in out if isinstance(r, ParsedClaim)]


ALL = loaded(BASE)


def wrapped(text: str, width: int) -> str:
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


@pytest.mark.parametrize("variant", [
    lambda t: "\ufeff" + t,  # a BOM as text
    lambda t: "\xef\xbb\xbf" + t,  # a BOM as Latin-1 bytes (how the loads read files)
    lambda t: "\r\n \n\t" + t,
    lambda t: t.replace("~\n", "~"),
    lambda t: t.replace("~\n", "~\r\n"),
    lambda t: t.replace("~\n", "\n"),
    lambda t: t.replace("~\n", "\r\n"),
    lambda t: t.replace("~\n", "~ \n"),
    lambda t: t.replace("~\n", "~\n\n"),  # blank lines between segments
    lambda t: t.rstrip("~\n"),  # no terminator after IEA
    lambda t: t + "\n\n  \n",
    lambda t: wrapped(t.replace("~\n", "~"), 80),  # fixed-width lines cut anywhere, even inside an element
], ids=["bom", "bom-bytes", "leading-ws", "one-line", "crlf", "lf-only", "crlf-only", "space-after", "blank-lines",
        "no-last-terminator", "trailing-blank", "wrapped-80"])
def test_terminator_and_whitespace_variants_load_every_claim(variant):
    assert loaded(variant(BASE)) == ALL and len(ALL) == 4


def test_an_isa_not_padded_to_its_fixed_width_is_read_by_its_separators():
    isa = BASE.split("~", 1)[0]
    short = "*".join(p.strip() or p for p in isa.split("*"))
    out, p = parse(BASE.replace(isa, short, 1))
    assert len([r for r in out if isinstance(r, ParsedClaim)]) == 4
    assert any("not the fixed 106" in w for w in p.warnings)


def test_lower_case_segment_ids_and_qualifiers():
    text = BASE.replace("CLM*", "clm*").replace("NM1*IL", "nm1*il").replace("SV1*HC", "sv1*hc")
    assert loaded(text) == ALL


def test_a_component_separator_other_than_isa16_is_detected():
    head, rest = BASE.split("~", 1)
    out, p = parse(head + "~" + rest.replace(":", ">"))
    claims = [r for r in out if isinstance(r, ParsedClaim)]
    assert len(claims) == 4 and claims[0].fields["lines"][0]["modifiers"] == ("25",)
    assert claims[0].fields["diagnoses"] == ("E119", "I10")
    assert any("'>' although ISA16 declares ':'" in w for w in p.warnings)


def test_not_x12_and_utf16_are_refused_with_a_reason_that_quotes_nothing():
    for text, words in [("PATIENT,SMITH\n", "does not start with ISA"), ("GS*HC*A~", "starts with 'GS'"),
                        ("\ufffe" + BASE, "UTF-16"), ("", "no ISA")]:
        out, _ = parse(text)
        assert len(out) == 1 and out[0].scope == "file" and words in out[0].reason, out[0].reason
        assert "PAT" not in out[0].reason
    with pytest.raises(X12FormatError):
        Tokens(io.StringIO("ISA*00*short"))


def test_an_unreadable_second_isa_rejects_the_rest_with_its_text():
    out, _ = parse(BASE + "ISA*broken~GS*HC*X~ST*837*0009~CLM*LOST1*10~SE*3*0009~")
    assert len([r for r in out if isinstance(r, ParsedClaim)]) == 4
    rej = out[-1]
    assert isinstance(rej, Rejection) and rej.scope == "group" and "rest of the file" in rej.reason
    assert "CLM*LOST1" in rej.raw and "1 claim" in rej.reason


@pytest.mark.parametrize(("gs08", "st03", "words"), [
    ("005010X222A2", "005010X222A2", None),
    ("005010X223A3", "", None),
    ("004010X098A1", "", "GS08 is 004010X098A1, a 4010 837P"),
    ("005010X224A2", "005010X224A2", "005010X224A2, an 837D dental claim"),
    ("<script>", "", "an unreadable value"),
])
def test_versions(gs08, st03, words):
    text = BASE.replace("005010X222A1~\nST*837*0001*005010X222A1", f"{gs08}~\nST*837*0001*{st03}", 1)
    text = text.replace("ST*837*0002*005010X222A1", f"ST*837*0002*{st03}")
    out, _ = parse(text)
    if words is None:
        assert len([r for r in out if isinstance(r, ParsedClaim)]) == 4
    else:
        assert all(isinstance(r, Rejection) for r in out) and words in out[0].reason, out[0].reason
        assert "005010X222A1/A2 (837P), 005010X223A1/A2/A3 (837I)" in out[0].reason


def test_set_version_prefers_a_supported_st03():
    assert set_version("004010X098A1", "005010X222A1")[:2] == ("005010X222A1", "professional")
    assert set_version("005010X223A2", "JUNK")[:2] == ("005010X223A2", "institutional")
    assert "ST03" in unsupported_reason("ST03", "") or "empty" in unsupported_reason("ST03", "")


DEPENDENT = """HL*3*2*23*0~
PAT*19~
NM1*QC*1*DOE*KID~
"""


def counted(text: str) -> str:
    """``text`` with each SE01 set to its set's segment count."""
    segs = text.split("~\n")
    start = 0
    for i, seg in enumerate(segs):
        if seg.startswith("ST*"):
            start = i
        elif seg.startswith("SE*"):
            parts = seg.split("*")
            segs[i] = "*".join([parts[0], str(i - start + 1), *parts[2:]])
    return "~\n".join(segs)


def test_a_dependent_without_an_id_is_not_put_on_the_subscriber():
    # the first subscriber loop of set 0001 becomes a subscriber with a dependent patient
    text = BASE.replace("HL*2*1*22*0~", "HL*2*1*22*1~", 1)
    at = text.index("CLM*", text.index("HL*2*1*22*1~"))
    out, _ = parse(counted(text[:at] + DEPENDENT + text[at:]))
    rejected = [r for r in out if isinstance(r, Rejection)]
    assert rejected and "dependent (loop 2000C" in rejected[0].reason
    assert "NM1*QC" in rejected[0].raw and rejected[0].scope == "claim"
    with_id = text[:at] + DEPENDENT.replace("NM1*QC*1*DOE*KID", "NM1*QC*1*DOE*KID****MI*KID001") + text[at:]
    out, p = parse(counted(with_id))
    members = [r.member_id for r in out if isinstance(r, ParsedClaim)]
    assert "KID001" in members and any("NM1*QC NM109" in w for w in p.warnings)


@pytest.mark.parametrize(("hi", "dx", "note"), [
    ("HI*ABK:E119*ABF:I10", ("E119", "I10"), None),
    ("HI*BK:4019*BF:25000", (), "ICD-9-CM diagnoses"),
    ("HI*BK:E119*BF:I10", ("E119", "I10"), "read as ICD-10-CM"),
    ("HI*BK:E8888*BF:V7389", (), "ICD-9-CM diagnoses"),
    ("HI*ABK:4019*ABF:I10", ("I10",), "numeric (ICD-9-CM) codes"),
    ("HI*BK*E119*BF*I10", ("E119", "I10"), "separate elements"),
    ("HI*ABK:E11.9:::::::Y*ABF:I10:::::::N", ("E119", "I10"), None),
])
def test_diagnoses(hi, dx, note):
    text = BASE.replace("HI*ABK:E119*ABF:I10", hi, 1)
    out, p = parse(text)
    assert out[0].fields["diagnoses"] == dx
    if note:
        assert any(note in w for w in p.warnings), dict(p.warnings)


def test_envelope_trailer_problems_are_warnings_not_lost_claims():
    text = BASE.replace("IEA*1*000000101", "IEA*7*999999999")
    out, p = parse(text)
    assert len([r for r in out if isinstance(r, ParsedClaim)]) == 4 and not [r for r in out if isinstance(r, Rejection)]
    assert any("IEA02 does not match ISA13" in w for w in p.warnings)


# ------------------------------------------------------------------------------ validation
def test_validation_of_an_a2_file_uses_the_nearest_map_and_echoes_the_senders_version():
    report = validate_837(io.StringIO(BASE.replace("005010X222A1", "005010X222A2"), newline=""))
    assert report.valid and not report.crashed
    assert any("validated with pyx12's 005010X222A1 map" in n for n in report.notes)
    assert "AK2*837*0001*005010X222A2" in report.ack_999 and "005010X222A1" not in report.ack_999.split("AK1")[1]


def test_validation_never_raises_and_still_writes_a_999():
    broken = BASE.replace("ST*837*0001*005010X222A1", "S T*837*0001*005010X222A1", 1)  # pyx12 raises on this
    ack = io.StringIO()
    report = validate_837(io.StringIO(broken, newline=""), ack)
    assert report.crashed and "could not be completed" in report.crashed
    assert ack.getvalue().startswith("ISA") and "IK5*R" in ack.getvalue() and "AK9*R" in ack.getvalue()
    assert report.rejected == ("0002",)
    bom = validate_837(io.StringIO("\ufeff" + BASE, newline=""))
    assert bom.valid and "IK5*A" in bom.ack_999


def test_validation_of_a_mixed_file_refuses_the_unsupported_group_in_the_same_999():
    dental = BASE.replace("005010X222A1", "005010X224A2").replace("GS*HC*CLEARHOUSE01*CAREPLATFORM*20260312*1600*1*",
                                                                  "GS*HC*CLEARHOUSE01*CAREPLATFORM*20260312*1600*2*")
    groups = BASE[BASE.index("GS*"):BASE.index("IEA*")] + dental[dental.index("GS*"):dental.index("IEA*")]
    text = BASE[:BASE.index("GS*")] + groups + "IEA*2*000000001~\n"
    report = validate_837(io.StringIO(text, newline=""))
    assert not report.crashed and not report.valid
    ack = report.ack_999
    assert ack.count("ST*999*") == 2 and "AK9*A*2*2*2" in ack and "AK9*R*2*2*0*2" in ack
    assert "GE*2*" in ack


def test_merge_999_restores_versions_and_adds_refused_groups():
    from services.intake.domain.x12_ack import Group

    pyx = "ISA*x~\nGS*FA~\nST*999*0001~\nAK1*HC*7*005010X222A1~\nAK2*837*0001*005010X222A1~\nIK5*A~\n" \
          "AK9*A*1*1*1~\nSE*6*0001~\nGE*1*9~\nIEA*1*9~\n"
    out = merge_999(pyx, [Group("HC", "8", "005010X224A2", [("0009", "005010X224A2")], "2")],
                    {"7": "005010X222A2"}, {("7", "0001"): "005010X222A2"})
    assert "AK1*HC*7*005010X222A2" in out and "AK2*837*0001*005010X222A2" in out
    assert "ST*999*0002*005010X231A1" in out and "AK2*837*0009*005010X224A2" in out and "GE*2*9" in out


def test_validation_stops_at_its_deadline():
    from services.intake.adapters.x12_validate import ValidationTimeout

    with pytest.raises(ValidationTimeout):
        validate_837(io.StringIO(BASE, newline=""), deadline=0.0)


# ------------------------------------------------------------------------------ ownership
def test_a_running_load_is_over_when_its_process_is_gone_or_its_deadline_long_past():
    now = datetime.now(timezone.utc)
    me = current_owner()
    assert stale_reason({"owner": me, "deadline": (now + timedelta(hours=1)).isoformat()}, now) is None
    gone = {**me, "pid": 2 ** 22 + 12345}
    assert stale_reason({"owner": gone}, now) == INTERRUPTED
    reused = {**me, "started": "1"}  # same pid, another process start: not the owner
    assert stale_reason({"owner": reused}, now) == INTERRUPTED
    elsewhere = {"owner": {"host": "another-host", "pid": 1}, "deadline": (now - timedelta(hours=1)).isoformat()}
    assert stale_reason(elsewhere, now) == OVERDUE
    assert stale_reason({"owner": {"host": "another-host", "pid": 1}}, now, now - timedelta(hours=3), 3600) == OVERDUE
    assert stale_reason({"owner": {"host": "another-host", "pid": 1}}, now, now, 3600) is None


# ------------------------------------------------------------------------------ properties
SEPARATORS = st.sampled_from(["~", "~\n", "~\r\n", "\n", "\r\n", "~ \n", "!", "\x1d"])


@settings(max_examples=60, deadline=None)
@given(term=SEPARATORS, ele=st.sampled_from(["*", "|", "^", "\x1c"]), sub=st.sampled_from([":", ">", "\x1e"]),
       lead=st.sampled_from(["", "\ufeff", " \n", "\ufeff\r\n"]), lower=st.booleans())
def test_any_delimiters_terminators_and_leading_noise_load_every_claim(term, ele, sub, lead, lower):
    segs = [s for s in BASE.split("~\n") if s]
    isa = segs[0]
    body = [s.replace(":", sub).replace("*", ele) for s in segs[1:]]
    if lower:
        body = [s[:3].lower() + s[3:] if s[:3] in ("CLM", "NM1", "DTP") else s for s in body]
    if ele == "^":
        isa = isa.replace("*^*", "*U*")  # ISA11 must differ from the element separator
    head = isa.replace("*", ele)[:-1] + sub
    text = lead + "".join(s + term for s in [head, *body])
    assert loaded(text) == ALL
