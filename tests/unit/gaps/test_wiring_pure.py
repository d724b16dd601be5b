"""Pure parts of the gaps wiring: event ids, the validated-claim copy, envelope checks, rates,
settings, format detection."""

import io
import uuid
from datetime import date, datetime, timezone

import pytest
from pydantic import ValidationError

from services.gaps.ingest import ParsedClaim, iter_837
from services.gaps.ingest.records import validate_claim
from services.gaps.ingest.x12_envelope import EnvelopeChecker, Tokens
from services.gaps.loads import claim_event_id, detect_format, roster_event_id
from services.gaps.app.queries import RateRow
from services.gaps.settings import GapsSettings
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


def test_rates_follow_the_ecqm_populations_and_the_inverse_measure():
    regular = RateRow("CMS130", "P1", None, {"open": 3, "closed": 5, "due_soon": 2, "excluded": 2, "not_applicable": 9})
    f = regular.figures()
    assert (f["denominator"], f["exclusions"], f["numerator"], f["rate"]) == (12, 2, 7, 0.7)
    inverse = RateRow("CMS122", "P1", None, {"open": 1, "closed": 3}).figures()
    assert (inverse["numerator"], inverse["rate"], inverse["inverse"]) == (1, 0.25, True)  # poor control: lower is better
    assert RateRow("CMS165", None, "K1", {"not_applicable": 4}).figures()["rate"] is None


def test_settings_parse_lists_versions_and_the_period():
    s = GapsSettings(measures="FUP,CMS130", code_list_dirs="a, b", measure_versions={"CMS125": "CMS125v12"},
                     evaluation_date=date(2027, 3, 1))
    assert s.measures == ("CMS130", "FUP") and s.code_list_dirs == ("a", "b")
    assert s.measure_versions["CMS125"] == "CMS125v12" and s.measure_versions["CMS130"] == "CMS130v14"
    ms = s.measure_settings()
    assert (ms.period.start, ms.as_of, ms.measures) == (date(2027, 1, 1), date(2027, 3, 1), ("CMS130", "FUP"))
    assert GapsSettings(measurement_year=2026, evaluation_date=date(2027, 3, 1)).period().end == date(2026, 12, 31)
    with pytest.raises(ValidationError):
        GapsSettings(measures="CMS999")
    with pytest.raises(ValidationError):  # stored in a 64-character column: refused at start, not in a batch
        GapsSettings(measure_versions={"CMS130": "v" * 65})


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
