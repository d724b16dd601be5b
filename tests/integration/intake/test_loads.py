"""Loads in this process (the code path of the CLI and the API) against the real broker and
PostgreSQL. Intake compares a roster row with the snapshot it produced itself (its
``roster_snapshots``, written as the broker confirms), so no consumer has to catch up first."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from services.intake.app import load_claims, load_roster
from shared.events import ClaimV1, MemberRosterV1
from shared.formats import CLAIM_CSV_COLUMNS

from .conftest import roster_csv, roster_row, unique

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "x12"


def produced(env, topic: str, member_ids: set[str]) -> list:
    return env.events(topic, member_ids)


def test_roster_loads_produce_only_changes_with_ids_chained_to_the_previous_snapshot(loads, tmp_path):
    env, ctx, db = loads
    a, b = unique("LA"), unique("LB")
    path = roster_csv(tmp_path / "roster.csv", [roster_row(a), roster_row(b)])
    first = load_roster(ctx, path)
    assert (first.status, first.accepted, first.changed) == ("done", 2, 2)
    snapshots = produced(env, "members.roster", {a, b})
    assert len(snapshots) == 2 and all(s.roster_load_id == first.load_id for s in snapshots)

    again = load_roster(ctx, path)
    assert (again.changed, again.unchanged) == (0, 2)
    assert len(produced(env, "members.roster", {a, b})) == 2  # nothing new on the topic

    moved = roster_csv(tmp_path / "roster2.csv", [roster_row(a, practice="P002"), roster_row(b)])
    third = load_roster(ctx, moved)
    assert (third.changed, third.unchanged) == (1, 1)
    latest = produced(env, "members.roster", {a})[-1]
    assert latest.pcp_practice_id == "P002"
    old_a = next(s for s in snapshots if s.member_id == a)
    assert latest.event_id != old_a.event_id


def test_a_full_load_that_would_term_most_of_the_roster_is_refused(loads, tmp_path):
    env, ctx, db = loads
    ids = [unique("LF") for _ in range(3)]
    first = load_roster(ctx, roster_csv(tmp_path / "r.csv", [roster_row(m) for m in ids]))
    active = env.scalar("SELECT count(*) FROM roster_snapshots WHERE status = 'active'")
    truncated = load_roster(ctx, roster_csv(tmp_path / "cut.csv", [roster_row(ids[0])]), full=True)
    assert first.status == "done" and truncated.termed == 0
    assert active > 2 and "refused" in truncated.warnings[0]
    assert len(produced(env, "members.roster", set(ids))) == 3

    broken = tmp_path / "broken.csv"
    broken.write_text("member,name\nx,y\n")
    report = load_roster(ctx, broken, full=True)
    assert report.rejected == 1 and report.termed == 0 and "skipped" in report.warnings[0]
    dead = produced(env, "members.roster.dlq", {broken.name})
    assert dead and dead[-1].value().decode().startswith("member,name")


def test_claims_csv_and_json_take_the_same_path_with_content_ids(loads, tmp_path):
    env, ctx, db = loads
    m = unique("LC")
    header = ",".join(CLAIM_CSV_COLUMNS)

    def row(**kw):
        base = dict(claim_id=f"C{m}", frequency_code="1", original_claim_id="", claim_type="professional",
                    member_id=m, payer_id="SHP01", billing_npi="1234567893", rendering_npi="", place_of_service="11",
                    type_of_bill="", admission_date="", discharge_date="", discharge_status="", diagnoses="Z00.00",
                    line_number="1", procedure_code="99213", modifiers="", revenue_code="", service_date="2026-02-01",
                    service_date_end="", units="1", charge_amount="100", allowed_amount="", paid_amount="")
        base.update(kw)
        return ",".join(base[c] for c in CLAIM_CSV_COLUMNS)

    csv_path = tmp_path / "claims.csv"
    csv_path.write_text("\n".join([header, row(), row(line_number="2", procedure_code="45378"),
                                   row(claim_id=f"B{m}", service_date="2026-13-01")]) + "\n")
    report = load_claims(ctx, csv_path)
    assert (report.format, report.accepted, report.lines, report.rejected, report.dead_lettered) == ("csv", 1, 2, 1, 1)
    assert report.rejections[0]["lines"] == [4] and report.rejections[0]["dead_lettered"] is False  # the line ...
    assert report.rejections[1]["scope"] == "claim" and report.rejections[1]["dead_lettered"]  # ... and its claim
    (event,) = produced(env, "claims.events", {m})
    assert isinstance(event, ClaimV1) and [ln.procedure_code for ln in event.lines] == ["99213", "45378"]
    (dead,) = produced(env, "claims.events.dlq", {m})
    assert dead.value().decode() == header + "\n" + row(claim_id=f"B{m}", service_date="2026-13-01") + "\n"
    assert "service_date" in dict(dead.headers())["dlq.reason"].decode()

    # The same claim as JSON (a claim object): same content, same sender → the same event id.
    jpath = tmp_path / "claims.jsonl"
    jpath.write_text(json.dumps({
        "member_id": m, "claim_id": f"C{m}", "claim_type": "professional", "payer_id": "SHP01",
        "billing_npi": "1234567893", "place_of_service": "11", "diagnoses": ["Z0000"], "total_charge": "200",
        "lines": [{"line_number": 1, "procedure_code": "99213", "service_date": "2026-02-01", "charge_amount": "100"},
                  {"line_number": 2, "procedure_code": "45378", "service_date": "2026-02-01",
                   "charge_amount": "100"}]}) + "\n")
    again = load_claims(ctx, jpath)
    assert again.accepted == 1
    events = produced(env, "claims.events", {m})
    assert len(events) == 2 and events[0].event_id == events[1].event_id


def test_837i_revenue_only_lines_and_the_claim_discharge_are_produced(loads, tmp_path):
    """(The follow-up gap this claim opens is the gaps service's: tests/integration/gaps.)"""
    env, ctx, db = loads
    text = (FIXTURES / "837i_inpatient_discharge.x12").read_text()
    m = unique("LI")
    path = tmp_path / "837i.x12"
    path.write_text(text.replace("M000123", m).replace("M000456", m + "X"))
    load_roster(ctx, roster_csv(tmp_path / "r.csv", [roster_row(m), roster_row(m + "X", sex="M")]))
    report = load_claims(ctx, path)
    assert (report.accepted, report.rejected, report.lines) == (2, 0, 5)
    (ip,) = produced(env, "claims.events", {m})
    assert [(ln.revenue_code, ln.procedure_code) for ln in ip.lines] == [("0120", None), ("0300", "83036"),
                                                                          ("0250", None)]
    assert ip.occurred_at.isoformat() == "2026-03-20T14:15:00+00:00"  # the file's BHT time
    assert (ip.claim_type, ip.discharge_date) == ("institutional", date(2026, 3, 14))
    (stored,) = env.rows("SELECT claim_id, frequency_code FROM claim_versions_loaded WHERE member_id = :m", m=m)
    assert tuple(stored) == (ip.claim_id, ip.frequency_code)  # what the broker confirmed is recorded


def test_roster_json_items_report_each_rejection(loads):
    env, ctx, db = loads
    m = unique("LJ")
    items = [
        {"member_id": m, "given_name": "A", "family_name": "B", "birth_date": "1970-01-01", "sex": "F",
         "pcp_practice_id": "P1", "contract_id": "K1", "eligibility": [{"start": "2026-01-01"}]},
        {"member_id": m + "2", "given_name": "A", "family_name": "B", "birth_date": "1970-02-30", "sex": "F",
         "pcp_practice_id": "P1", "contract_id": "K1"},
        {"member_id": m + "3", "given_name": "C", "family_name": "D", "birth_date": "1971-01-01", "sex": "M",
         "pcp_practice_id": "P1", "contract_id": "K1", "eligibility_start": "2026-01-01", "pod": "pod-west"},
    ]
    report = load_roster(ctx, items)
    assert (report.accepted, report.rejected, report.format) == (2, 1, "json")
    assert report.rejections[0]["lines"] == [2] and "birth_date" in report.rejections[0]["reason"]
    assert "1970-02-30" not in json.dumps(report.as_dict())
    snapshots = produced(env, "members.roster", {m, m + "3"})
    assert {s.member_id for s in snapshots} == {m, m + "3"} and all(isinstance(s, MemberRosterV1) for s in snapshots)
    (dead,) = produced(env, "members.roster.dlq", {m + "2"})
    assert json.loads(dead.value())["birth_date"] == "1970-02-30"
