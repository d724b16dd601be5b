"""The gaps service as a user runs it: the worker and the API as processes, rosters and 837
files loaded as the platform loads them, through intake (``python -m services.intake
load-roster / load-claims``), gap events read back from Kafka, rows from PostgreSQL, answers
from the API. (The loads themselves — reports, dead letters, validation, the load API and its
metrics — are tested in tests/integration/intake.)"""

from __future__ import annotations

import json
import time
from datetime import date, datetime

from fhir.resources.R4B.bundle import Bundle

from tests.support.procs import wait_for

from .conftest import read_report, roster_csv, roster_row, unique, wait_members
from ..intake.x12_build import Claim, Line, professional

ADMIN = {"Authorization": "Bearer dev-admin"}
OPS = {"Authorization": "Bearer dev-ops"}
NURSE_EAST = {"Authorization": "Bearer dev-nurse-east1"}
NURSE_WEST = {"Authorization": "Bearer dev-nurse-west1"}
SUPERVISOR_EAST = {"Authorization": "Bearer dev-supervisor-east"}


def kinds(events, measure: str, member: str) -> list[str]:
    """One member's events for one measure, in order (a member's events share a partition)."""
    return [e.event_type for e in events if e.measure_id == measure and e.member_id == member]


def test_roster_and_837_files_loaded_through_intake_end_in_gap_events_and_rows(gaps):
    a, b = unique("MA"), unique("MB")
    roster = roster_csv(gaps.tmp / f"roster-{a}.csv", [roster_row(a), roster_row(b, sex="M", birth="1970-03-03")])
    r = gaps.intake("load-roster", str(roster))
    assert r.returncode == 0, r.stderr
    report = read_report(roster.with_name(roster.name + ".report.json"))
    assert (report["accepted"], report["changed"], report["rejected"]) == (2, 2, 0)
    wait_members(gaps, [a, b])
    assert gaps.events("gaps.events", {a, b}) == []  # not applicable yet (no visit): nothing announced

    # Office visits: both members enter the colorectal denominator, A also breast screening.
    visits = gaps.tmp / f"visits-{a}.x12"
    visits.write_text(professional([Claim(a, f"V{a}", [Line("99213", date(2026, 2, 10))]),
                                    Claim(b, f"V{b}", [Line("99214", date(2026, 2, 11))])],
                                   at=datetime(2026, 2, 20, 9, 0), control=11))
    r = gaps.intake("load-claims", str(visits))
    assert r.returncode == 0, r.stderr
    events = gaps.gap_events({a, b}, 3)
    assert sorted((e.member_id, e.measure_id, e.event_type) for e in events) == sorted([
        (a, "CMS130", "gap.opened"), (a, "CMS125", "gap.opened"), (b, "CMS130", "gap.opened")])
    opened = next(e for e in events if e.member_id == a and e.measure_id == "CMS130")
    assert "no colorectal cancer screening" in opened.reason and opened.practice_id == "P001"

    # A colonoscopy closes A's colorectal gap and names the evidence.
    colo = gaps.tmp / f"colo-{a}.x12"
    colo.write_text(professional([Claim(a, f"COL{a}", [Line("45378", date(2026, 3, 5), pos="22")])],
                                 at=datetime(2026, 3, 10, 9, 0), control=12))
    assert gaps.intake("load-claims", str(colo)).returncode == 0
    events = gaps.gap_events({a, b}, 4)
    closed = [e for e in events if e.member_id == a][-1]
    assert (closed.event_type, closed.measure_id, closed.member_id) == ("gap.closed", "CMS130", a)
    assert [(ev.code, ev.claim_id) for ev in closed.evidence] == [("45378", f"COL{a}")]
    row = gaps.rows("SELECT status, evidence, reason FROM gaps WHERE member_id = :m AND measure_id = 'CMS130'", m=a)[0]
    assert row.status == "closed" and f"COL{a}" in row.evidence and "45378" in row.reason

    # The payer voids the colonoscopy claim: the evidence is withdrawn and the gap reopens.
    void = gaps.tmp / f"void-{a}.x12"
    void.write_text(professional([Claim(a, f"COL{a}", [Line("45378", date(2026, 3, 5), pos="22")], frequency="8",
                                        original=f"COL{a}")], at=datetime(2026, 4, 1, 9, 0), control=13))
    assert gaps.intake("load-claims", str(void)).returncode == 0
    events = gaps.gap_events({a, b}, 5)
    assert kinds(events, "CMS130", a) == ["gap.opened", "gap.closed", "gap.opened"]
    assert gaps.statuses(a)["CMS130"] == "open"
    assert gaps.scalar("SELECT count(*) FROM claim_versions WHERE member_id = :m", m=a) == 3  # kept, not edited

    # Re-loading the same file changes nothing: the load is recognised, and forcing it re-sends
    # claims with the same ids, which the worker has applied already.
    again = gaps.intake("load-claims", str(void), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "duplicate"
    forced = gaps.intake("load-claims", str(void), "--force", "--json")
    assert json.loads(forced.stdout)["accepted"] == 1
    # A later claim of the same member (same partition, after the re-send) that changes no status:
    # once it is stored, the worker has seen the re-sent void too.
    lab = gaps.tmp / f"lab-{a}.x12"
    lab.write_text(professional([Claim(a, f"LAB{a}", [Line("80053", date(2026, 4, 2))])],
                                at=datetime(2026, 4, 3, 9, 0), control=14))
    assert gaps.intake("load-claims", str(lab)).returncode == 0
    wait_for(lambda: gaps.scalar("SELECT count(*) FROM claim_versions WHERE claim_id = :c", c=f"LAB{a}") == 1, 30,
             what="the later claim stored")
    time.sleep(1.0)
    assert len(gaps.events("gaps.events", {a, b})) == 5
    assert gaps.scalar("SELECT count(*) FROM claim_versions WHERE member_id = :m", m=a) == 4


def test_full_roster_load_terms_an_absent_member_and_excludes_its_gaps(gaps):
    d, e = unique("MD"), unique("ME")
    assert gaps.intake("load-roster", str(roster_csv(gaps.tmp / f"r-{d}.csv", [roster_row(d), roster_row(e)]))).returncode == 0
    wait_members(gaps, [d, e])
    visits = gaps.tmp / f"visits-{d}.x12"
    visits.write_text(professional([Claim(d, f"V{d}", [Line("99213", date(2026, 1, 20))])],
                                   at=datetime(2026, 1, 25, 8, 0), control=31))
    assert gaps.intake("load-claims", str(visits)).returncode == 0
    gaps.gap_events({d}, 2)  # colorectal + breast opened

    # The full roster: every active member as the database knows them, except D.
    rows = []
    for r in gaps.rows("SELECT body FROM members WHERE status = 'active' ORDER BY member_id"):
        m = json.loads(r.body)
        if m["member_id"] == d:
            continue
        mrns = ";".join(f"{x['assigning_authority']}:{x['mrn']}" for x in m["mrns"])
        span = m["eligibility"][0]
        rows.append(",".join([m["member_id"], m["given_name"], m["family_name"], m["birth_date"], m["sex"], mrns,
                              m["pcp_practice_id"], m["pcp_npi"] or "", m["hospitalist_group"] or "", m["pod"] or "",
                              m["contract_id"], m["program"] or "", m["risk_tier"], span["start"], span["end"] or ""]))
    full = roster_csv(gaps.tmp / f"full-{d}.csv", rows)
    r = gaps.intake("load-roster", str(full), "--full", "--effective", "2026-07-01", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert (report["termed"], report["changed"], report["unchanged"]) == (1, 0, len(rows))
    events = gaps.gap_events({d}, 4)
    assert sorted((ev.measure_id, ev.event_type, ev.status) for ev in events[2:]) == [
        ("CMS125", "gap.excluded", "not_applicable"), ("CMS130", "gap.excluded", "not_applicable")]
    assert "termed" in events[-1].reason
    body = json.loads(gaps.scalar("SELECT body FROM members WHERE member_id = :m", m=d))
    assert body["status"] == "termed" and body["eligibility"][0]["end"] == "2026-06-30"  # ended, not deleted
    assert gaps.events("gaps.events", {e}) == []  # the listed members were not touched


def test_api_member_gaps_rates_fhir_authorization_and_audit(gaps):
    f, w = unique("MF"), unique("MW")
    roster = roster_csv(gaps.tmp / f"roster-{f}.csv", [
        roster_row(f, birth="1958-08-08", sex="F", practice="P777", contract="K-API", pod="pod-east"),
        roster_row(w, birth="1962-01-01", sex="M", practice="P777", contract="K-API", pod="pod-west")])
    r = gaps.intake("load-roster", str(roster), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["accepted"] == 2, r.stderr
    wait_members(gaps, [f, w])
    claims = gaps.tmp / f"api-{f}.x12"
    claims.write_text(professional([Claim(f, f"V{f}", [Line("99213", date(2026, 2, 2)), Line("45378", date(2026, 2, 2))],
                                          diagnoses=("Z1211",)),
                                    Claim(w, f"V{w}", [Line("99213", date(2026, 2, 3))])],
                                   at=datetime(2026, 2, 9, 7, 0), control=41))
    r = gaps.intake("load-claims", str(claims), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["accepted"] == 2 and report["lines"] == 3
    wait_for(lambda: gaps.statuses(f).get("CMS130") == "closed" and gaps.statuses(w).get("CMS130") == "open",
             45, what="evaluated")
    with gaps.http() as http:
        r = http.get(f"/members/{f}/gaps", headers=NURSE_EAST)
        assert r.status_code == 200
        col = next(g for g in r.json()["gaps"] if g["measure_id"] == "CMS130")
        assert col["status"] == "closed" and col["evidence"][0]["code"] == "45378"
        assert col["evidence"][0]["claim_id"] == f"V{f}" and col["lapses_on"] == "2035-12-31"
        breast = next(g for g in r.json()["gaps"] if g["measure_id"] == "CMS125")
        assert breast["status"] == "open" and "mammogram" in breast["reason"]
        assert http.get(f"/members/{f}/gaps", headers=NURSE_WEST).status_code == 404  # another pod: unknown
        assert http.get(f"/members/{f}/gaps").status_code == 401
        assert http.get(f"/members/{f}/gaps", headers=OPS).status_code == 403  # aggregates only
        assert http.get("/members/NOPE/gaps", headers=ADMIN).status_code == 404

        rates = http.get("/rates", params={"practice_id": "P777", "measure_id": "CMS130"}, headers=OPS)
        assert rates.status_code == 200
        (row,) = rates.json()["rates"]
        assert (row["denominator"], row["exclusions"], row["numerator"], row["rate"]) == (2, 0, 1, 0.5)
        assert http.get("/rates", headers=NURSE_EAST).status_code == 403
        by_contract = http.get("/rates", params={"group_by": "contract", "contract_id": "K-API"}, headers=SUPERVISOR_EAST)
        assert {r["measure_id"] for r in by_contract.json()["rates"]} >= {"CMS130", "CMS125"}

        r = http.get(f"/members/{f}/care-gaps", headers=SUPERVISOR_EAST)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
        bundle = Bundle.model_validate(r.json())
        assert bundle.type == "document"
        resources = [e.resource for e in bundle.entry]
        assert resources[0].get_resource_type() == "Composition"
        assert resources[0].type.coding[0].code == "96315-7"
        issues = [x for x in resources if x.get_resource_type() == "DetectedIssue"]
        statuses = sorted(i.modifierExtension[0].valueCodeableConcept.coding[0].code for i in issues)
        assert statuses == ["closed-gap", "open-gap"]
        reports = [x for x in resources if x.get_resource_type() == "MeasureReport"]
        assert {x.measure.split("|")[0].rsplit("/", 1)[-1] for x in reports} >= {"CMS130", "CMS125"}
        op = http.get("/fhir/Measure/$care-gaps", params={"subject": f"Patient/{f}", "periodStart": "2026-01-01",
                                                          "periodEnd": "2026-12-31", "status": "open-gap"},
                      headers=ADMIN)
        assert op.status_code == 200 and op.json()["resourceType"] == "Parameters"
        inner = Bundle.model_validate(op.json()["parameter"][0]["resource"])
        assert [x.resource.get_resource_type() for x in inner.entry].count("DetectedIssue") == 1

        # The loads left gaps: its API serves none of their routes (intake's API does).
        assert http.post("/claims/files", content=b"x", headers=OPS).status_code == 404
        assert http.get("/loads/any", headers=OPS).status_code == 404

        audit = gaps.rows("SELECT user_id, action, endpoint, detail FROM audit_log WHERE member_id = :m ORDER BY id", m=f)
        reads = [(a.user_id, a.endpoint) for a in audit if a.action == "read"]
        assert ("nurse.east1", "GET /members/{member_id}/gaps") in reads
        assert ("supervisor.east", "GET /members/{member_id}/care-gaps") in reads
        assert any(a.user_id == "nurse.west1" and (a.detail or "").startswith("denied") for a in audit)


def test_worker_and_api_expose_the_gaps_metrics_without_member_labels(gaps):
    import httpx

    def scrape(port: int) -> str:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

    worker = wait_for(lambda: (t := scrape(gaps.worker.http_port)) and 'gaps_open{measure="CMS130"}' in t and t, 30,
                      what="gaps_open refreshed by the maintenance timer")
    assert "gaps_evaluations_total" in worker
    assert 'gaps_events_emitted_total{event_type="gap.opened",measure="CMS130"}' in worker
    api = scrape(gaps.api_port)  # the load metrics are intake's (intake_*, tests/integration/intake)
    assert "gaps_claims_ingested_total" not in api and "gaps_loads_finished_total" not in api
    members = {r.member_id for r in gaps.rows("SELECT member_id FROM members")}
    assert not any(m in worker or m in api for m in members)
