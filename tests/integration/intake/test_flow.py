"""Intake's processes as users start them (``python -m services.intake ...``): CLI loads and the
API's load routes; what they produced read back from Kafka, records and audit rows from
PostgreSQL. (What the gaps service makes of these events: tests/integration/gaps.)"""

from __future__ import annotations

import json
from datetime import date, datetime

import httpx

from tests.support.procs import wait_for

from .conftest import read_report, roster_csv, roster_row, unique
from .x12_build import Claim, Line, professional

ADMIN = {"Authorization": "Bearer dev-admin"}
OPS = {"Authorization": "Bearer dev-ops"}
NURSE_EAST = {"Authorization": "Bearer dev-nurse-east1"}


def test_roster_and_837_files_through_the_cli(intake):
    a, b = unique("MA"), unique("MB")
    roster = roster_csv(intake.tmp / f"roster-{a}.csv", [roster_row(a), roster_row(b, sex="M", birth="1970-03-03")])
    r = intake.cli("load-roster", str(roster))
    assert r.returncode == 0, r.stderr
    report = read_report(roster.with_name(roster.name + ".report.json"))
    assert (report["accepted"], report["changed"], report["rejected"]) == (2, 2, 0)
    assert {s.member_id for s in intake.events("members.roster", {a, b})} == {a, b}

    colo = intake.tmp / f"colo-{a}.x12"
    colo.write_text(professional([Claim(a, f"COL{a}", [Line("45378", date(2026, 3, 5), pos="22")])],
                                 at=datetime(2026, 3, 10, 9, 0), control=12))
    assert intake.cli("load-claims", str(colo)).returncode == 0
    void = intake.tmp / f"void-{a}.x12"
    void.write_text(professional([Claim(a, f"COL{a}", [Line("45378", date(2026, 3, 5), pos="22")], frequency="8",
                                        original=f"COL{a}")], at=datetime(2026, 4, 1, 9, 0), control=13))
    r = intake.cli("load-claims", str(void), "--json")
    assert r.returncode == 0 and not any("held" in w for w in json.loads(r.stdout)["warnings"])  # original loaded
    assert [e.frequency_code for e in intake.events("claims.events", {a})] == ["1", "8"]
    assert intake.scalar("SELECT count(*) FROM claim_versions_loaded WHERE member_id = :m", m=a) == 2

    # Re-loading the same file changes nothing: the load is recognised; forcing it re-sends the
    # claims with the same ids.
    again = intake.cli("load-claims", str(void), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "duplicate"
    forced = intake.cli("load-claims", str(void), "--force", "--json")
    assert json.loads(forced.stdout)["accepted"] == 1
    ids = [e.event_id for e in intake.events("claims.events", {a})]
    assert len(ids) == 3 and ids[1] == ids[2]


def test_malformed_837_is_reported_and_dead_lettered_with_its_text(intake):
    c = unique("MC")
    path = intake.tmp / f"broken-{c}.x12"
    path.write_text(professional([
        Claim(c, f"OK{c}", [Line("99213", date(2026, 2, 1))]),
        Claim(c, f"AMT{c}", [Line("99213", date(2026, 2, 3), charge="12x")]),
    ], at=datetime(2026, 2, 5, 8, 0), control=21))
    r = intake.cli("load-claims", str(path))
    assert r.returncode == 3, r.stderr  # loaded, with rejections
    report = read_report(path.with_name(path.name + ".report.json"))
    assert (report["accepted"], report["rejected"], report["dead_lettered"]) == (1, 1, 1)
    (rej,) = report["rejections"]
    assert rej["st_control_number"] == "0001" and rej["segment"] and "SV1" in rej["reason"]
    assert c not in json.dumps(report["rejections"]) and "12x" not in json.dumps(report)  # no member id, no value
    dead = wait_for(lambda: intake.events("claims.events.dlq", {c}), 30, what="dead letter")
    (msg,) = dead
    headers = {k: v.decode() for k, v in msg.headers()}
    assert "SV1" in headers["dlq.reason"] and headers["dlq.consumer"] == "intake.load"
    assert headers["intake.load_id"] == report["load_id"]
    assert f"CLM*AMT{c}" in msg.value().decode() and f"NM1*IL*1*TESTER*PAT****MI*{c}" in msg.value().decode()
    assert f"OK{c}" not in msg.value().decode()

    # Validate mode: pyx12's map walk answers with a 999 that rejects the set; nothing of it is loaded.
    r = intake.cli("load-claims", str(path), "--validate", "--force", "--json")
    out = json.loads(r.stdout)
    ack = path.with_name(path.name + ".999").read_text()
    assert "ST*999*" in ack and "IK5*R" in ack
    assert out["validation"]["transactions"][0]["ack_code"] == "R"
    assert (out["accepted"], out["rejected"]) == (0, 1) and "999" in out["rejections"][0]["reason"]

    garbage = intake.tmp / "not-x12.x12"
    garbage.write_text("this is not an interchange\n" * 3)
    r = intake.cli("load-claims", str(garbage), "--format", "x12", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 3 and out["rejections"][0]["scope"] == "file" and "ISA" in out["rejections"][0]["reason"]


def test_full_roster_load_terms_an_absent_member(intake):
    d, e = unique("MD"), unique("ME")
    assert intake.cli("load-roster", str(roster_csv(intake.tmp / f"r-{d}.csv", [roster_row(d), roster_row(e)]))) \
        .returncode == 0
    present = [r.member_id for r in intake.rows("SELECT member_id FROM roster_snapshots WHERE status = 'active'")]
    full = roster_csv(intake.tmp / f"full-{d}.csv", [roster_row(m) for m in present if m != d])
    r = intake.cli("load-roster", str(full), "--full", "--effective", "2026-07-01", "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["termed"] == 1, r.stderr
    termed = intake.events("members.roster", {d})[-1]
    assert termed.status == "termed" and termed.eligibility[0].end == date(2026, 6, 30)  # ended, not deleted
    assert intake.scalar("SELECT status FROM roster_snapshots WHERE member_id = :m", m=d) == "termed"


def test_the_api_loads_with_roles_audit_and_a_load_to_poll(intake):
    f, w = unique("MF"), unique("MW")
    with intake.http() as http:
        members = [{"member_id": f, "given_name": "A", "family_name": "B", "birth_date": "1960-01-01", "sex": "F",
                    "pcp_practice_id": "P001", "contract_id": "GR-2026", "pod": "pod-east",
                    "eligibility": [{"start": "2025-01-01"}]},
                   {"member_id": "", "given_name": "No", "family_name": "Id", "birth_date": "1962-01-01", "sex": "M",
                    "pcp_practice_id": "P001", "contract_id": "GR-2026"}]
        r = http.post("/roster/members", json=members, headers=ADMIN)
        assert r.status_code == 200 and r.json()["changed"] == 1, r.text
        assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
        assert "member_id" in r.json()["rejections"][0]["reason"]
        x12 = professional([Claim(f, f"V{f}", [Line("99213", date(2026, 2, 2))]),
                            Claim(w, f"V{w}", [Line("99213", date(2026, 2, 3))])], at=datetime(2026, 2, 9, 7, 0),
                           control=41)
        r = http.post("/claims/files", params={"filename": "api.x12", "background": "true"}, content=x12.encode(),
                      headers={**OPS, "content-type": "text/plain"})
        assert r.status_code == 202, r.text
        load_id = r.json()["load_id"]
        assert r.json()["status_url"] == f"/loads/{load_id}"
        status = wait_for(lambda: (s := http.get(f"/loads/{load_id}", headers=OPS).json())["status"] == "done" and s,
                          60, what="the background load")
        assert status["report"]["accepted"] == 2 and status["report"]["file"] == "api.x12"
        assert status["report"]["lines"] == 2
        assert http.get("/loads/no-such-load", headers=OPS).status_code == 404

        roster = roster_csv(intake.tmp / "api-roster.csv", [roster_row(w), roster_row(w)]).read_bytes()
        r = http.post("/roster/files", files={"file": ("roster.csv", roster, "text/csv")}, headers=ADMIN)
        assert r.status_code == 200, r.text
        rep = r.json()
        assert (rep["file"], rep["accepted"], rep["rejected"]) == ("roster.csv", 1, 1)
        assert rep["rejections"][0]["lines"] == [3] and "appears again" in rep["rejections"][0]["reason"]
        assert http.post("/roster/files", content=b"", headers=ADMIN).status_code == 422
        assert http.post("/claims/files", content=b"x", headers=NURSE_EAST).status_code == 403
        assert http.get(f"/loads/{load_id}", headers=NURSE_EAST).status_code == 403
        assert http.post("/claims/files", params={"format": "xml"}, content=b"x", headers=OPS).status_code == 422
    audit = intake.rows("SELECT action, endpoint, member_id FROM audit_log")
    assert any(a.action == "write" and a.endpoint == "POST /roster/members" and a.member_id == f for a in audit)
    assert any(a.endpoint == "POST /claims/files" and a.member_id is None for a in audit)


def test_the_api_exposes_the_intake_metrics_without_member_labels(intake):
    text = httpx.get(f"http://127.0.0.1:{intake.api_port}/metrics", timeout=5).text
    for name in ("intake_claims_ingested_total", "intake_roster_rows_total", "intake_loads_finished_total",
                 "ccp_produced_total"):
        assert name in text, name
    assert 'intake_loads_finished_total{format="x12",kind="claims",status="done"}' in text
    assert 'intake_claims_ingested_total{format="x12",outcome="accepted"}' in text
    assert 'intake_roster_rows_total{outcome="accepted"}' in text and "intake_load_progress_ratio" in text
    for line in text.splitlines():
        if line.startswith("intake_"):
            assert "member" not in line and "MF" not in line and "MA" not in line
