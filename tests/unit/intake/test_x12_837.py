import io
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from shared.events import ClaimV1
from services.intake.adapters.x12_validate import validate_837
from services.intake.domain import ParsedClaim, Rejection, iter_837
from services.intake.domain.x12_837 import Parser837

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "x12"


def parse(name):
    progress = []
    out = list(iter_837(FIX / name, progress.append))
    return out, progress


def test_837p_claims_replacement_and_void():
    out, progress = parse("837p_office_and_adjustments.x12")
    assert all(isinstance(r, ParsedClaim) for r in out)
    first, colo, repl, void = (r.fields for r in out)
    assert (first["claim_id"], first["member_id"], first["frequency_code"]) == ("PCN1001", "M000123", "1")
    assert first["claim_type"] == "professional" and first["place_of_service"] == "11"
    assert first["billing_npi"] == "1234567893" and first["rendering_npi"] == "1992753880"
    assert first["payer_id"] == "SHP01" and first["total_charge"] == Decimal("150")
    assert first["diagnoses"] == ("E119", "I10")
    assert [(ln["procedure_code"], ln["modifiers"]) for ln in first["lines"]] == [
        ("99214", ("25",)), ("3044F", ()), ("3074F", ()), ("3078F", ())]
    assert first["lines"][0]["diagnosis_pointers"] == (1, 2)
    assert first["lines"][0]["service_date"] == date(2026, 3, 2)
    assert first["paid_amount"] is None and first["lines"][0]["paid_amount"] is None
    assert colo["lines"][0]["place_of_service"] == "22"
    assert (repl["claim_id"], repl["frequency_code"], repl["original_claim_id"]) == ("PCN1001-R1", "7", "PCN1001")
    assert (void["claim_id"], void["frequency_code"], void["original_claim_id"]) == ("PCN1002", "8", "PCN1002")
    assert out[0].position.st_control_number == "0001" and out[2].position.st_control_number == "0002"
    assert out[2].created_at == datetime(2026, 3, 12, 16, 0, tzinfo=timezone.utc)
    assert progress[-1].done and progress[-1].accepted == 4 and progress[-1].lines == 10
    assert progress[-1].bytes_read == progress[-1].total_bytes


def test_parsed_claim_becomes_an_event():
    out, _ = parse("837p_office_and_adjustments.x12")
    ev = out[0].to_event(**ClaimV1.envelope(occurred_at=out[0].created_at, source="837", member_id="ignored"))
    assert isinstance(ev, ClaimV1) and ev.member_id == "M000123" and len(ev.lines) == 4


def test_837i_inpatient_discharge():
    out, _ = parse("837i_inpatient_discharge.x12")
    ip, op = (r.fields for r in out)
    assert ip["claim_type"] == "institutional" and ip["type_of_bill"] == "111"
    assert ip["admission_date"] == date(2026, 3, 10)
    assert (ip["statement_from"], ip["statement_to"]) == (date(2026, 3, 10), date(2026, 3, 14))
    assert ip["discharge_date"] == date(2026, 3, 14) and ip["discharge_status"] == "01"
    assert ip["attending_npi"] == "1366459902"
    assert ip["diagnoses"] == ("I5023", "E119", "I10")  # admitting diagnosis (ABJ) is not a claim diagnosis
    lines = ip["lines"]
    assert [(ln["revenue_code"], ln["procedure_code"]) for ln in lines] == [
        ("0120", None), ("0300", "83036"), ("0250", None)]  # revenue-code-only lines have no procedure code
    assert lines[0]["units"] == Decimal("4") and lines[0]["service_date"] == date(2026, 3, 10)
    assert lines[1]["service_date"] == date(2026, 3, 11)
    assert op["type_of_bill"] == "131" and op["discharge_date"] is None  # outpatient: no admission


def test_encounter_file_paid_and_allowed_amounts():
    (r,), _ = parse("837p_encounter_paid.x12")
    line = r.fields["lines"][0]
    assert line["paid_amount"] == Decimal("180") and line["allowed_amount"] == Decimal("200")
    assert r.fields["paid_amount"] == Decimal("180")


def test_broken_file_rejects_with_positions_and_no_values():
    out, progress = parse("837p_broken.x12")
    kinds = [(type(r).__name__, getattr(r, "scope", None)) for r in out]
    assert kinds == [("Rejection", "transaction"), ("Rejection", "claim"), ("Rejection", "claim"),
                     ("ParsedClaim", None), ("Rejection", "claim")]
    st1, bad_date, bad_amount, good, bad_freq = out
    assert st1.position.st_control_number == "0001" and "SE01" in st1.reason
    assert bad_date.position.st_control_number == "0002" and bad_date.position.segment_number == 10
    assert "DTP*472" in bad_date.reason and "20261345" not in bad_date.reason
    assert "CLM02" in bad_amount.reason and "abc" not in bad_amount.reason
    assert good.fields["claim_id"] == "PCN2004"
    assert "frequency" in bad_freq.reason
    for r in (st1, bad_date, bad_amount, bad_freq):
        assert "M000123" not in str(r) and "DOE" not in str(r)
    assert progress[-1].accepted == 1 and progress[-1].rejected == 4


def test_rejections_carry_the_raw_segments_for_the_dead_letter_topic():
    out, _ = parse("837p_broken.x12")
    st1, bad_date, bad_amount, good, bad_freq = out
    # The whole rejected transaction set, ST to SE, as sent.
    assert st1.raw.startswith("ST*837*0001") and st1.raw.rstrip().endswith("~")
    assert "SE*" in st1.raw.splitlines()[-1]
    # A rejected claim: its subscriber loop (HL .. NM1*IL) and its own segments, not its neighbours'.
    lines = bad_date.raw.splitlines()
    assert lines[0].startswith("HL*") and any(x.startswith("NM1*IL") for x in lines)
    clms = [x for x in lines if x.startswith("CLM*")]
    assert len(clms) == 1 and "20261345" in bad_date.raw
    assert not any(x.startswith(("SE*", "GE*", "IEA*")) for x in lines)
    assert bad_date.key == "M000123"
    # repr/str (what may reach a log) never show the raw text
    assert "20261345" not in repr(bad_date) and "20261345" not in str(bad_date)


def test_not_an_x12_file():
    (r,) = list(iter_837(io.StringIO("claim_id,member_id\nA,B\n" * 20)))
    assert isinstance(r, Rejection) and r.scope == "file" and "ISA" in r.reason


def test_unsupported_version_is_named_and_a_missing_trailer_rejects_its_set():
    text = (FIX / "837p_office_and_adjustments.x12").read_text()
    swapped = text.replace("005010X222A1", "004010X098A1")
    out = list(iter_837(io.StringIO(swapped)))
    assert all(isinstance(r, Rejection) and r.scope == "transaction" for r in out) and len(out) == 2
    assert "004010X098A1" in out[0].reason and "4010 837P" in out[0].reason and "005010X222A1/A2" in out[0].reason
    # ST03 is the set's version in 5010: a 5010 set under a GS08 that says otherwise is read by it, with a note
    parser = Parser837()
    out = list(parser.records(io.StringIO(text.replace("005010X222A1~\nST", "004010X098A1~\nST", 1))))
    assert sum(isinstance(r, ParsedClaim) for r in out) == 4
    assert any("ST03" in w and "GS08" in w for w in parser.warnings)
    cut = text[: text.index("SE*49*0001~")]
    parser = Parser837()
    out = list(parser.records(io.StringIO(cut)))
    assert [r.scope for r in out] == ["transaction"]  # GE and IEA missing too: warnings, nothing else lost
    assert "SE trailer" in out[0].reason and "2 claims not loaded" in out[0].reason
    assert any("GE functional group trailer is missing" in w for w in parser.warnings)


def test_streams_with_progress_callbacks():
    text = (FIX / "837p_office_and_adjustments.x12").read_text()
    seen = []
    it = iter_837(io.StringIO(text), seen.append, progress_every=10)
    first = next(it)
    assert isinstance(first, ParsedClaim)
    assert seen and not seen[-1].done  # progress arrived before the end of the file
    list(it)
    assert seen[-1].done and seen[-1].units == 100


def test_validate_mode_writes_a_999():
    ack = io.StringIO()
    report = validate_837(FIX / "837p_office_and_adjustments.x12", ack)
    assert report.valid and report.rejected == ()
    assert "ST*999*" in ack.getvalue() and "AK9*A*2*2*2" in ack.getvalue()
    bad = validate_837(FIX / "837p_broken.x12")
    assert not bad.valid and bad.rejected == ("0001", "0002")
    assert "IK5*R" in bad.ack_999
    joined = " ".join(e for t in bad.transactions for e in t.errors)
    assert "CLM segment 15" in joined and "20261345" not in joined and "abc" not in joined


def test_sets_rejected_by_validation_are_rejected_whole_with_their_text():
    out = list(iter_837(FIX / "837p_office_and_adjustments.x12",
                        reject_sets={"0002": "rejected by validation (999 IK5*R)"}))
    kinds = [(type(r).__name__, r.position.st_control_number) for r in out]
    assert kinds == [("ParsedClaim", "0001"), ("ParsedClaim", "0001"), ("Rejection", "0002")]
    rej = out[-1]
    assert rej.scope == "transaction" and "999" in rej.reason and "2 claims not loaded" in rej.reason
    assert rej.raw.startswith("ST*837*0002")


def test_claims_of_a_set_whose_st_is_damaged_are_rejected_with_their_text():
    text = (FIX / "837p_office_and_adjustments.x12").read_text()
    out = list(iter_837(io.StringIO(text.replace("ST*837*0001*005010X222A1~", "", 1), newline="")))
    loaded = sum(isinstance(r, ParsedClaim) for r in out)
    orphan = out[0]
    assert isinstance(orphan, Rejection) and orphan.scope == "transaction" and "outside a transaction set" in orphan.reason
    assert loaded + orphan.raw.count("CLM*") == 4  # every claim loaded or rejected with its text
    assert orphan.raw.splitlines()[-1].startswith("SE*")


def test_a_nul_character_rejects_its_claim():
    text = (FIX / "837p_encounter_paid.x12").read_text().replace("HI*ABK:", "HI*ABK:\x00", 1)
    (r,) = list(iter_837(io.StringIO(text)))
    assert isinstance(r, Rejection) and "NUL" in r.reason


def test_the_dates_an_837_says_order_its_versions_are_read():
    """(Moved from the gaps claim-book tests: the claim book orders versions by these fields.)"""
    from tests.integration.intake.x12_build import Claim, Line, professional

    text = professional([Claim("M1", "A", [Line("99213", date(2026, 3, 2))], frequency="7", original="A0",
                               extra=["DTP*050*D8*20260402", "DTP*573*D8*20260409", "DTP*573*D8*20260403"])],
                        at=datetime(2026, 4, 12, 9, 30))
    (c,) = list(iter_837(io.StringIO(text)))
    assert (c.fields["received_date"], c.fields["adjudication_date"]) == (date(2026, 4, 2), date(2026, 4, 9))
    assert c.fields["submitted_at"] == datetime(2026, 4, 12, 9, 30, tzinfo=timezone.utc)
    assert (c.fields["frequency_code"], c.fields["original_claim_id"]) == ("7", "A0")
