"""Pure parts of the intake wiring: event ids, the validated-claim copy, envelope checks, format
detection."""

import io
import uuid
from datetime import date, datetime, timezone

import pytest

from services.intake.domain import ParsedClaim, claim_event_id, detect_format, iter_837, roster_event_id
from services.intake.domain.records import validate_claim
from services.intake.domain.x12_envelope import EnvelopeChecker, Tokens
from shared.events import ClaimV1, ClaimV2

from .test_x12_837 import FIX

BODY = dict(member_id="M1", claim_id="C1", claim_type="professional", payer_id="SHP01", diagnoses=("I10",),
            lines=({"line_number": 1, "procedure_code": "99213", "service_date": date(2026, 2, 1)},))


def parsed(**changes) -> ParsedClaim:
    return ParsedClaim(validate_claim({**BODY, **changes}), None)


def test_claim_ids_follow_content_and_sender_not_the_file():
    base = claim_event_id(parsed())
    assert claim_event_id(parsed(source_file="other-file.x12")) == base  # the same claim sent again
    assert claim_event_id(parsed(diagnoses=("I10", "E119"))) != base  # a changed claim is a new version
    assert claim_event_id(parsed(payer_id="OTHER")) != base
    assert claim_event_id(parsed(frequency_code="8", original_claim_id="C1")) != base


def test_roster_ids_chain_to_the_snapshot_they_replace():
    first = roster_event_id(None, "M1", "h1")
    assert roster_event_id(None, "M1", "h1") == first
    assert roster_event_id(str(first), "M1", "h1") != first  # back after a term: a new snapshot
    assert roster_event_id(None, "M1", "h2") != first


def test_to_event_copies_the_validated_claim_and_checks_the_envelope():
    p = parsed()
    at = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    env = ClaimV2.envelope(occurred_at=at, source="test", member_id="ignored", event_id=uuid.uuid4())
    ev = p.to_event(**env)
    assert ev == ClaimV2.model_validate({**env, **p.fields, "member_id": "M1"})
    # an envelope made for v1 still gives an event of the body's version
    assert p.to_event(**ClaimV1.envelope(occurred_at=at, source="test", event_id=uuid.uuid4())).schema_version == 2
    with pytest.raises(ValueError):
        p.to_event(**{**env, "occurred_at": datetime(2026, 3, 1)})  # naive
    with pytest.raises(TypeError):
        p.to_event(**env, claim_id="X")  # not an envelope field
    assert isinstance(validate_claim({**BODY, "claim_type": "dental"}), str)


def test_envelope_checker_catches_what_pyx12_catches():
    chk = EnvelopeChecker()
    isa = [[""]] * 12 + [["000000001"]] + [[""]] * 3
    assert chk.check("ISA", isa) == []
    assert chk.check("GS", [["HC"], [""], [""], [""], [""], ["7"]]) == []
    assert chk.check("ST", [["837"], ["0001"]]) == []
    chk.check("BHT", [["0019"]])
    errs = chk.check("SE", [["9"], ["0002"]])
    assert sorted(e[1] for e in errs) == ["3", "4"]
    assert chk.check("ST", [["837"], ["0001"]])[0][1] == "23"  # ST02 repeated in the group
    assert [e[1] for e in chk.check("GE", [["1"], ["7"]])] == ["3", "5"]  # ST left open; 2 sets, not 1
    assert [e[1] for e in chk.finish()] == ["023"]  # no IEA


def test_tokens_keep_the_isa_separator_and_split_composites():
    text = (FIX / "837p_office_and_adjustments.x12").read_text()
    segs = list(Tokens(io.StringIO(text)))
    isa = segs[0]
    assert isa[0] == "ISA" and isa[1][15] == [":"] and len(isa[1]) == 16
    sv1 = next(s for s in segs if s[0] == "SV1")
    assert sv1[1][0][:2] == ["HC", "99214"] and sv1[2].startswith("SV1*")


def test_formats_are_detected_from_the_content(tmp_path):
    x12 = tmp_path / "claims.txt"
    x12.write_text((FIX / "837p_encounter_paid.x12").read_text())
    js = tmp_path / "claims.dat"
    js.write_text('{"claim_id": "C1"}\n')
    csv = tmp_path / "claims.csv"
    csv.write_text("claim_id,member_id\n")
    assert [detect_format(p) for p in (x12, js, csv)] == ["x12", "json", "csv"]


def test_parsed_claims_from_a_file_expose_their_fields_lazily():
    (first, *_rest) = [r for r in iter_837(FIX / "837p_office_and_adjustments.x12") if isinstance(r, ParsedClaim)]
    assert first.claim_id == "PCN1001" and first.member_id == "M000123" and first.line_count == 4
    assert first.fields["claim_id"] == "PCN1001" and "event_id" not in first.fields
