"""Intake's load use cases over in-memory ports (``fakes.py``): what is produced, what is
recorded as confirmed, what the report says - no broker, no database."""

from __future__ import annotations

import json

import pytest

from services.intake.app import load_claims, load_roster
from services.intake.app.claims import _report_held
from services.intake.domain import LoadReport
from services.intake.domain.held import ClaimLink
from shared.errors import DeliveryError
from shared.formats import CLAIM_CSV_COLUMNS, ROSTER_COLUMNS

from .fakes import context

ROSTER_HEADER = ",".join(ROSTER_COLUMNS)


def roster_row(member_id: str, *, practice: str = "P001", tier: str = "moderate") -> str:
    values = dict(member_id=member_id, given_name="Testa", family_name="Person", birth_date="1960-05-01", sex="F",
                  mrns=f"MERCY:MRN-{member_id}", pcp_practice_id=practice, pcp_npi="1234567893",
                  hospitalist_group="HG-NORTH", pod="pod-east", contract_id="GR-2026", program="MSSP", risk_tier=tier,
                  eligibility_start="2025-01-01", eligibility_end="")
    return ",".join(values.get(c, "") for c in ROSTER_COLUMNS)


def roster_file(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("\n".join([ROSTER_HEADER, *rows]) + "\n")
    return path


def claim_row(member: str, claim: str, **kw) -> str:
    base = dict(claim_id=claim, frequency_code="1", original_claim_id="", claim_type="professional",
                member_id=member, payer_id="SHP01", billing_npi="1234567893", rendering_npi="", place_of_service="11",
                type_of_bill="", admission_date="", discharge_date="", discharge_status="", diagnoses="Z00.00",
                line_number="1", procedure_code="99213", modifiers="", revenue_code="", service_date="2026-02-01",
                service_date_end="", units="1", charge_amount="100", allowed_amount="", paid_amount="")
    base.update(kw)
    return ",".join(base.get(c, "") for c in CLAIM_CSV_COLUMNS)


def claims_file(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("\n".join([",".join(CLAIM_CSV_COLUMNS), *rows]) + "\n")
    return path


def test_a_roster_load_produces_only_changes_and_records_what_was_confirmed(tmp_path):
    ctx, m = context()
    path = roster_file(tmp_path, "r.csv", [roster_row("A"), roster_row("B")])
    first = load_roster(ctx, path, report_beside_file=False)
    assert (first.status, first.accepted, first.changed) == ("done", 2, 2)
    assert {e.member_id for e in m.events} == {"A", "B"} and set(m.snapshots) == {"A", "B"}
    assert m.loads[first.load_id]["status"] == "done" and m.reports[-1]["load_id"] == first.load_id

    again = load_roster(ctx, path)
    assert (again.changed, again.unchanged) == (0, 2) and len(m.events) == 2  # nothing new produced

    moved = load_roster(ctx, roster_file(tmp_path, "r2.csv", [roster_row("A", practice="P002"), roster_row("B")]))
    assert (moved.changed, moved.unchanged) == (1, 1)
    old_a = next(e for e in m.events if e.member_id == "A")
    assert m.events[-1].pcp_practice_id == "P002" and m.events[-1].event_id != old_a.event_id
    assert m.snapshots["A"].event_id == str(m.events[-1].event_id)


def test_a_tier_change_carries_the_attribution_history_from_the_stored_snapshot(tmp_path):
    ctx, m = context()
    load_roster(ctx, roster_file(tmp_path, "r1.csv", [roster_row("H")]))
    assert m.events[-1].attribution == ()
    load_roster(ctx, roster_file(tmp_path, "r2.csv", [roster_row("H", tier="high")]))
    spans = m.events[-1].attribution
    assert [(s.risk_tier, s.end is None) for s in spans] == [("moderate", False), ("high", True)]


def test_a_full_load_terms_absent_members_unless_it_would_term_too_many(tmp_path):
    ctx, m = context()
    load_roster(ctx, roster_file(tmp_path, "r.csv", [roster_row(x) for x in "ABCD"]))
    refused = load_roster(ctx, roster_file(tmp_path, "cut.csv", [roster_row("A")]), full=True)
    assert refused.termed == 0 and "refused" in refused.warnings[0] and len(m.events) == 4

    full = load_roster(ctx, roster_file(tmp_path, "most.csv", [roster_row(x) for x in "ABC"]), full=True)
    assert full.termed == 1 and m.events[-1].member_id == "D" and m.events[-1].status == "termed"
    assert m.snapshots["D"].status == "termed"

    broken = tmp_path / "broken.csv"
    broken.write_text("member,name\nx,y\n")
    report = load_roster(ctx, broken, full=True)
    assert report.rejected == 1 and report.termed == 0 and "skipped" in report.warnings[0]
    assert m.dead_letters[-1].raw.decode().startswith("member,name") and m.dead_letters[-1].topic == "members.roster"


def test_claims_are_produced_with_content_ids_dead_letters_counted_and_versions_recorded(tmp_path):
    ctx, m = context()
    path = claims_file(tmp_path, "c.csv", [claim_row("M1", "C1"), claim_row("M1", "C1", line_number="2"),
                                           claim_row("M1", "B1", service_date="2026-13-01")])
    report = load_claims(ctx, path)
    assert (report.accepted, report.lines, report.rejected, report.dead_lettered) == (1, 2, 1, 1)
    (event,) = m.events
    assert list(m.versions["M1"]) == [str(event.event_id)]
    dead = m.dead_letters[0]
    assert dead.topic == "claims.events" and "service_date" in dead.reason and dead.key == b"M1"
    assert "2026-13-01" not in json.dumps(report.as_dict())

    duplicate = load_claims(ctx, path)
    assert duplicate.status == "duplicate" and duplicate.duplicate_of == report.load_id and len(m.events) == 1
    forced = load_claims(ctx, path, force=True)
    assert forced.accepted == 1 and m.events[-1].event_id == event.event_id  # the same claim, the same id


def test_a_correction_whose_original_was_never_loaded_is_named_in_a_warning(tmp_path):
    ctx, m = context()
    void = claims_file(tmp_path, "void.csv", [claim_row("M2", "C9", frequency_code="8", original_claim_id="C8")])
    report = load_claims(ctx, void)
    (held,) = [w for w in report.warnings if "held" in w]
    assert report.status == "done" and "1 void(s)" in held
    assert "line 2" in held  # the file's position, though its version is recorded already

    ctx2, m2 = context()
    load_claims(ctx2, claims_file(tmp_path, "orig.csv", [claim_row("M3", "C8")]))
    later = load_claims(ctx2, claims_file(tmp_path, "void2.csv",
                                          [claim_row("M3", "C9", frequency_code="8", original_claim_id="C8")]))
    assert not any("held" in w for w in later.warnings)  # its original was loaded before


def test_held_corrections_read_the_versions_loaded_before_not_another_services_tables():
    ctx, m = context()
    m.versions["M4"]["e0"] = ClaimLink("e0", "C1", "1", None)
    report = LoadReport("l", "claims", "csv")
    _report_held(ctx, report, {"M4": [ClaimLink("e1", "C2", "7", "C1")]})
    assert report.warnings == []
    _report_held(ctx, report, {"M5": [ClaimLink("e2", "C2", "7", "C1")]})
    assert "1 replacement(s), 0 void(s)" in report.warnings[0]


def test_a_broker_that_does_not_confirm_fails_the_load_and_records_nothing_unconfirmed(tmp_path):
    ctx, m = context()
    m.fail = True
    with pytest.raises(DeliveryError):
        load_claims(ctx, claims_file(tmp_path, "c.csv", [claim_row("M6", "C1")]))
    (record,) = m.loads.values()
    assert record["status"] == "failed" and "DeliveryError" in record["error"]
    assert m.events == [] and not m.versions.get("M6")


def test_a_load_out_of_time_ends_failed_with_the_reason(tmp_path):
    ctx, m = context(time_budget_s=1e-9)
    report = load_roster(ctx, roster_file(tmp_path, "r.csv", [roster_row(f"T{i}") for i in range(300)]), full=True)
    assert report.status == "failed" and "LOAD_TIME_BUDGET_S" in report.error and report.termed == 0
    assert m.loads[report.load_id]["status"] == "failed"
