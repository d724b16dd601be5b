import io
from datetime import date
from decimal import Decimal

from shared.formats import CLAIM_CSV_COLUMNS
from services.intake.domain import ParsedClaim, Rejection, iter_claims_csv

HEADER = ",".join(CLAIM_CSV_COLUMNS)


def row(**kw):
    base = dict(claim_id="C1", frequency_code="1", original_claim_id="", claim_type="professional", member_id="M1",
                payer_id="SHP01", billing_npi="1234567893", rendering_npi="", place_of_service="11", type_of_bill="",
                admission_date="", discharge_date="", discharge_status="", diagnoses="E11.9;I10", line_number="1",
                procedure_code="99213", modifiers="25", revenue_code="", service_date="2026-02-01",
                service_date_end="", units="1", charge_amount="120.50", allowed_amount="", paid_amount="")
    base.update(kw)
    return ",".join(base[c] for c in CLAIM_CSV_COLUMNS)


def parse(*rows, header=HEADER):
    return list(iter_claims_csv(io.StringIO("\n".join([header, *rows]) + "\n")))


def test_lines_group_into_claims():
    out = parse(row(), row(line_number="2", procedure_code="3044F", modifiers="", charge_amount="0", paid_amount="0"),
                row(claim_id="C2", member_id="M2", procedure_code="45378", paid_amount="310.10"))
    a, b = out
    assert isinstance(a, ParsedClaim) and a.position.lines == (2, 3)
    assert a.fields["diagnoses"] == ("E119", "I10") and a.fields["total_charge"] == Decimal("120.50")
    assert [ln["procedure_code"] for ln in a.fields["lines"]] == ["99213", "3044F"]
    assert a.fields["lines"][0]["modifiers"] == ("25",)
    assert b.fields["paid_amount"] == Decimal("310.10") and b.fields["lines"][0]["service_date"] == date(2026, 2, 1)


def test_header_is_checked():
    (r,) = parse(row(), header=HEADER.replace("member_id", "memberid"))
    assert isinstance(r, Rejection) and r.scope == "file"
    assert "missing required columns: member_id" in r.reason and "(did you mean member_id?)" in r.reason
    assert "memberid" not in r.reason  # a header cell is named by its position, never quoted


def test_a_file_without_its_header_line_is_rejected_without_quoting_the_first_row():
    (r,) = parse(row(member_id="M777123", diagnoses="E11.9"), header=row(member_id="M555999", claim_id="SECRET1"))
    assert isinstance(r, Rejection) and r.scope == "file" and "not a header" in r.reason
    assert "M555999" not in r.reason and "SECRET1" not in r.reason and "99213" not in r.reason


def test_bad_line_rejects_with_line_number_and_column_and_drops_its_claim():
    out = parse(row(), row(line_number="2", service_date="2026-02-30"), row(claim_id="C2", charge_amount="12,0"))
    line_rej, claim_rej, c2_line, c2_claim = out
    assert (line_rej.scope, line_rej.position.lines) == ("line", (3,))
    assert "service_date" in line_rej.reason and "2026-02-30" not in line_rej.reason
    assert claim_rej.scope == "claim" and claim_rej.position.lines == (2, 3) and "3" in claim_rej.reason
    assert c2_line.position.lines == (4,)
    assert isinstance(c2_claim, Rejection)


def test_claim_fields_must_agree_across_lines():
    out = parse(row(), row(line_number="2", member_id="M9"))
    assert "member_id" in out[0].reason and out[0].position.lines == (3,)
    assert "M9" not in out[0].reason


def test_invalid_values_named_without_echo():
    (r,) = parse(row(claim_type="dental"))
    assert isinstance(r, Rejection) and "claim_type" in r.reason and "dental" not in r.reason


def test_non_contiguous_claim_rows_are_rejected():
    out = parse(row(), row(claim_id="C2"), row(line_number="2"))
    assert [type(r).__name__ for r in out] == ["ParsedClaim", "ParsedClaim", "Rejection"]
    assert "line 2" in out[2].reason


def test_replacement_and_void_rows():
    out = parse(row(), row(frequency_code="7", original_claim_id="C1"), row(frequency_code="8", original_claim_id="C1"))
    assert [r.fields["frequency_code"] for r in out] == ["1", "7", "8"]


def test_progress_reports_rows():
    seen = []
    list(iter_claims_csv(io.StringIO("\n".join([HEADER, row(), row(claim_id="C2")])), seen.append, progress_every=1))
    assert seen[-1].done and seen[-1].units == 2 and seen[-1].accepted == 2 and seen[-1].lines == 2


def test_rejected_claim_keeps_header_and_all_its_rows_for_the_dead_letter_topic():
    good, bad_date = row(), row(line_number="2", service_date="2026-02-30")
    line_rej, claim_rej = parse(good, bad_date)
    assert line_rej.covered and not claim_rej.covered
    assert claim_rej.raw == "\n".join([HEADER, good, bad_date]) + "\n"
    assert claim_rej.key == "M1"
    assert "2026-02-30" not in repr(claim_rej)


def test_revenue_code_only_line_needs_no_procedure_code():
    (c,) = parse(row(claim_type="institutional", procedure_code="", revenue_code="0450", place_of_service=""))
    assert isinstance(c, ParsedClaim) and c.fields["lines"][0]["procedure_code"] is None
    (r, claim_rej) = parse(row(procedure_code=""))
    assert "procedure_code" in r.reason and isinstance(claim_rej, Rejection)


def test_an_unreadable_row_is_rejected_not_raised():
    out = parse(row(), '"' + "x" * 140_000)  # an unterminated quote running past the csv field limit
    assert [r.claim_id for r in out if isinstance(r, ParsedClaim)] == ["C1"]
    bad = [r for r in out if isinstance(r, Rejection)]
    assert bad and bad[0].scope == "row" and "cannot be read as CSV" in bad[0].reason and bad[0].raw


def test_a_file_rejected_for_its_header_keeps_its_rows_and_nul_rows_are_refused():
    (r,) = parse(row(), header=HEADER.replace("member_id", "memberid"))
    assert r.scope == "file" and row() in r.raw
    line, claim = parse(row(procedure_code="99\x0013"))
    assert "NUL" in line.reason and claim.scope == "claim"


def test_optional_version_columns_say_which_version_is_later():
    header = HEADER + ",version_sequence,adjudication_date,received_date"
    out = parse(row() + ",2,2026-04-09,2026-04-02", row(claim_id="C2") + ",,,", header=header)
    a, b = out
    assert (a.fields["version_sequence"], a.fields["adjudication_date"], a.fields["received_date"]) == \
        (2, date(2026, 4, 9), date(2026, 4, 2))
    assert (b.fields["version_sequence"], b.fields["adjudication_date"], b.fields["received_date"]) == (None, None, None)
    assert a.fields["submitted_at"] is None  # a CSV row never orders by the time it was loaded
    (bad,) = [r for r in parse(row() + ",two,,", header=header) if isinstance(r, Rejection) and r.scope == "claim"]
    assert "version_sequence is not a whole number" in bad.reason and "two" not in bad.reason
