import io
from datetime import date, datetime, timezone

from shared.events import MemberRosterV1
from shared.formats import ROSTER_COLUMNS
from services.intake.domain import term_absent_members
from services.intake.domain import ParsedRoster, Rejection, iter_roster_csv

HEADER = ",".join(ROSTER_COLUMNS)


def row(**kw):
    base = dict(member_id="M1", given_name="Jane", family_name="Doe", birth_date="1960-03-15", sex="F",
                mrns="GENHOSP:MRN100;STMARY:778", pcp_practice_id="P1", pcp_npi="1992753880",
                hospitalist_group="HG1", pod="POD-A", contract_id="K1", program="MSSP", risk_tier="High",
                eligibility_start="2025-01-01", eligibility_end="")
    base.update(kw)
    return ",".join(base[c] for c in ROSTER_COLUMNS)


def parse(*rows, header=HEADER):
    return list(iter_roster_csv(io.StringIO("\n".join([header, *rows]) + "\n")))


def test_valid_row_becomes_member_roster_body_fields():
    (r,) = parse(row())
    assert isinstance(r, ParsedRoster) and r.line_number == 2
    f = r.fields
    assert f["birth_date"] == date(1960, 3, 15) and f["risk_tier"] == "high"
    assert [(x["assigning_authority"], x["mrn"]) for x in f["mrns"]] == [("GENHOSP", "MRN100"), ("STMARY", "778")]
    assert f["eligibility"] == ({"start": date(2025, 1, 1), "end": None},)
    ev = r.to_event(**MemberRosterV1.envelope(occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc), source="roster.csv"))
    assert ev.member_id == "M1" and ev.eligible_on(date(2026, 6, 1))


def test_rejects_carry_line_and_column_never_the_value():
    out = parse(row(), row(member_id="M2", birth_date="15/03/1960"), row(member_id="M3", sex="X"),
                row(member_id="M4", mrns="MRN-ONLY"), row(member_id="M5", pcp_npi="12345"),
                row(member_id="M6", eligibility_end="2024-01-01"), row(member_id="M7", given_name=""))
    rejects = [r for r in out if isinstance(r, Rejection)]
    assert [r.position.lines for r in rejects] == [(3,), (4,), (5,), (6,), (7,), (8,)]
    reasons = [r.reason for r in rejects]
    assert "birth_date" in reasons[0] and "15/03/1960" not in reasons[0]
    assert "sex" in reasons[1]
    assert "mrns" in reasons[2] and "MRN-ONLY" not in reasons[2]
    assert "pcp_npi" in reasons[3] and "12345" not in reasons[3]
    assert "eligibility_end" in reasons[4]
    assert "given_name" in reasons[5]
    for r in rejects:
        assert "Jane" not in str(r) and "Doe" not in str(r) and "1960" not in str(r)


def test_header_checked_and_duplicates_rejected():
    (bad,) = parse(row(), header=HEADER.replace(",sex,", ",gender,"))
    assert bad.scope == "file" and "sex" in bad.reason
    out = parse(row(), row(given_name="Janet"))
    assert isinstance(out[1], Rejection) and "first on line 2" in out[1].reason


def test_full_load_terms_absent_members_instead_of_deleting():
    known = [
        {"member_id": "M1", "status": "active", "eligibility": ({"start": date(2024, 1, 1), "end": None},)},
        {"member_id": "M2", "status": "active", "eligibility": ({"start": date(2024, 1, 1), "end": None},
                                                                {"start": date(2026, 8, 1), "end": None})},
        {"member_id": "M3", "status": "termed", "eligibility": ({"start": date(2024, 1, 1), "end": date(2025, 1, 31)},)},
        {"member_id": "M4", "status": "active", "eligibility": ({"start": date(2024, 1, 1), "end": date(2025, 6, 30)},)},
    ]
    termed = term_absent_members(known, {"M1"}, date(2026, 7, 1), load_id="LOAD-7")
    assert [t["member_id"] for t in termed] == ["M2", "M4"]
    m2, m4 = termed
    assert m2["status"] == "termed" and m2["roster_load_id"] == "LOAD-7"
    assert m2["eligibility"] == ({"start": date(2024, 1, 1), "end": date(2026, 6, 30)},)  # span from Aug dropped
    assert m4["eligibility"] == ({"start": date(2024, 1, 1), "end": date(2025, 6, 30)},)  # earlier end kept


def test_roster_rows_with_a_nul_or_an_unreadable_field_are_rejected():
    out = parse(row(), row(member_id="M2", given_name="Ja\x00ne"), '"' + "x" * 140_000)
    assert isinstance(out[0], ParsedRoster)
    assert [r.reason for r in out[1:]][0] == "the row contains a NUL character"
    assert "cannot be read as CSV" in out[2].reason
    (bad,) = parse(row(), header=HEADER.replace(",sex,", ",gender,"))
    assert row() in bad.raw  # the rejected file's rows travel with it
