import io
import json
from datetime import date, datetime, timezone

from services.intake.domain import ParsedClaim, Rejection, iter_claims_json


def line(**kw):
    base = dict(claim_id="C1", frequency_code="1", claim_type="professional", member_id="M1", payer_id="SHP01",
                place_of_service="11", diagnoses=["E11.9", "I10"], line_number=1, procedure_code="99213",
                modifiers=["25"], service_date="2026-02-01", charge_amount="120.50")
    base.update(kw)
    return base


def claim(**kw):
    base = dict(member_id="M1", claim_id="C9", claim_type="professional", diagnoses=["I10"],
                lines=[{"line_number": 1, "procedure_code": "3074F", "service_date": "2026-03-02"}])
    base.update(kw)
    return base


def parse_lines(*objs):
    text = "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs)
    return list(iter_claims_json(io.StringIO(text)))


def test_json_lines_group_like_the_csv():
    out = parse_lines(line(), line(line_number=2, procedure_code="3044F", modifiers=[]), line(claim_id="C2"))
    a, b = out
    assert isinstance(a, ParsedClaim) and a.position.lines == (1, 2)
    assert a.fields["diagnoses"] == ("E119", "I10")
    assert [ln["procedure_code"] for ln in a.fields["lines"]] == ["99213", "3044F"]
    assert b.fields["claim_id"] == "C2"


def test_claim_objects_with_nested_lines_and_their_time():
    at = "2026-03-05T10:00:00+00:00"
    (c,) = parse_lines(claim(occurred_at=at))
    assert isinstance(c, ParsedClaim) and c.created_at == datetime(2026, 3, 5, 10, tzinfo=timezone.utc)
    assert c.fields["lines"][0]["service_date"] == date(2026, 3, 2)
    (bad,) = parse_lines(claim(occurred_at="2026-03-05T10:00:00"))  # no offset: ambiguous
    assert isinstance(bad, Rejection) and "occurred_at" in bad.reason


def test_rejections_name_fields_not_values_and_keep_the_raw_object():
    out = parse_lines(claim(claim_type="dental"), line(service_date="2026-02-30"), "{broken", line(colour="red"))
    bad_type, bad_line, bad_claim, broken, unknown = out
    assert "claim_type" in bad_type.reason and "dental" not in bad_type.reason
    assert json.loads(bad_type.raw)["claim_type"] == "dental" and bad_type.key == "M1"
    assert bad_line.covered and "service_date" in bad_line.reason and "2026-02-30" not in bad_line.reason
    assert bad_claim.scope == "claim" and not bad_claim.covered and "2026-02-30" in bad_claim.raw
    assert broken.scope == "row" and broken.position.lines == (3,) and broken.raw == "{broken\n"
    assert "colour" in unknown.reason and "red" not in unknown.reason


def test_a_json_array_document_is_accepted():
    doc = json.dumps({"claims": [claim(), claim(claim_id="C10")]}, indent=2)
    out = list(iter_claims_json(io.StringIO(doc)))
    assert [r.fields["claim_id"] for r in out] == ["C9", "C10"]
    (r,) = list(iter_claims_json(io.StringIO('{"claims": 3}')))
    assert isinstance(r, Rejection) and r.scope == "file"


def test_revenue_code_only_institutional_line():
    (c,) = parse_lines(line(claim_type="institutional", type_of_bill="131", procedure_code="", revenue_code="0450",
                            place_of_service=""))
    assert isinstance(c, ParsedClaim)
    assert c.fields["lines"][0]["procedure_code"] is None and c.fields["lines"][0]["revenue_code"] == "0450"
    line_rej, claim_rej = parse_lines(line(procedure_code=""))
    assert "procedure_code" in line_rej.reason and claim_rej.scope == "claim"


def test_json_the_parser_cannot_read_is_rejected_not_raised():
    for text in ["[" * 50_000 + "]" * 50_000, '{"claim_id": ' + "9" * 5000 + "}\n"]:
        out = list(iter_claims_json(io.StringIO(text)))
        assert out and all(isinstance(r, Rejection) for r in out)
    (nul,) = parse_lines(claim(claim_id="C\x009"))
    assert isinstance(nul, Rejection) and "NUL" in nul.reason


def test_a_claim_says_which_version_is_later_never_the_load_time():
    at = "2026-03-05T10:00:00+00:00"
    (c,) = parse_lines(claim(occurred_at=at, adjudication_date="2026-04-09", version_sequence=3))
    assert c.fields["submitted_at"] == datetime(2026, 3, 5, 10, tzinfo=timezone.utc)  # its own time, not the load's
    assert (c.fields["adjudication_date"], c.fields["version_sequence"]) == (date(2026, 4, 9), 3)
    (ln,) = parse_lines(line(received_date="2026-04-02", version_sequence="1"))
    assert (ln.fields["received_date"], ln.fields["version_sequence"], ln.fields["submitted_at"]) == \
        (date(2026, 4, 2), 1, None)
