"""Billing's API on a real PostgreSQL (in-process client): authentication and roles, ops sees
aggregates only, member-level reads are audited, contracts load with errors named by place,
what-if posts nothing, metrics feed the estimates."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.billing.api import create_api
from services.billing.handlers import Billing
from services.billing.settings import BillingSettings
from services.billing.store import BillingDatabase, audit, fed_metrics, ledger_entries

from .billing_inputs import claim, roster

ADMIN = {"X-API-Key": "dev-admin"}
OPS = {"X-API-Key": "dev-ops"}
SUPERVISOR = {"Authorization": "Bearer dev-supervisor-east"}
NURSE = {"X-API-Key": "dev-nurse-east1"}


@pytest.fixture
def api(pg_url):
    settings = BillingSettings(database_url=pg_url, environment="test", open_month_policy="fixed", open_month="2026-04")
    client = TestClient(create_api(settings))
    db = BillingDatabase(pg_url, pool_size=2)
    billing = Billing(open_month_policy="fixed", open_month="2026-04", estimate_interval_s=0)
    with db.transaction() as s:
        billing.handle(s, [roster("M1"), roster("M2", tier="low"),
                           claim("M1", "C1", (("99213", date(2026, 3, 3), "75.00"),))])
    yield client, db
    client.close()
    db.dispose()


def audited(db) -> list:
    with db.reader() as s:
        return s.execute(select(audit.c.user_id, audit.c.member_id, audit.c.endpoint)).fetchall()


def test_no_key_is_401_and_a_nurse_is_403(api):
    client, _ = api
    assert client.get("/statements/MMO-2026/2026-03").status_code == 401
    assert client.get("/statements/MMO-2026/2026-03", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/statements/MMO-2026/2026-03", headers=NURSE).status_code == 403
    assert client.post("/contracts", content="x: 1", headers=OPS).status_code == 403
    assert client.post("/months/MMO-2026/2026-03/close", headers=SUPERVISOR).status_code == 403


def test_ops_sees_aggregates_and_admin_reads_are_audited(api):
    client, db = api
    ops = client.get("/accruals/MMO-2026/2026-03", headers=OPS)
    assert ops.status_code == 200
    body = ops.json()
    assert body["level"] == "aggregate" and "member_id" not in ops.text and "M1" not in ops.text
    assert {r["account"]: r["amount"] for r in body["totals"]} == {"cost_of_care": "75.00", "pmpm_fee": "39.00"}
    assert client.get("/accruals/MMO-2026/2026-03?level=entries", headers=OPS).status_code == 403
    mm = client.get("/member-months/MMO-2026/2026-03", headers=OPS).json()
    assert mm["members_by_tier"] == {"high": 1, "low": 1} and "rows" not in mm
    assert audited(db) == []

    entries = client.get("/accruals/MMO-2026/2026-03", headers=ADMIN).json()["entries"]
    assert {e["member_id"] for e in entries} == {"M1", "M2"}
    rows = client.get("/member-months/MMO-2026/2026-03", headers=SUPERVISOR).json()["rows"]
    assert [(r["member_id"], r["eligible_days"]) for r in rows] == [("M1", 31), ("M2", 31)]
    assert sorted(audited(db)) == [
        ("admin", "M1", "GET /accruals/MMO-2026/2026-03"), ("admin", "M2", "GET /accruals/MMO-2026/2026-03"),
        ("supervisor.east", "M1", "GET /member-months/MMO-2026/2026-03"),
        ("supervisor.east", "M2", "GET /member-months/MMO-2026/2026-03"),
    ]


def test_statement_json_and_csv(api):
    client, _ = api
    st = client.get("/statements/MMO-2026/2026-03", headers=OPS).json()
    assert st["member_months"]["members"] == 2 and st["member_months"]["fees"] == "39.00"
    assert st["cost_of_care"] == {"total": "75.00", "pmpm": "37.50"}
    csv = client.get("/statements/MMO-2026/2026-03", headers={**OPS, "Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "member_months,high,,1.0000,30.00,,30.00" in csv.text.splitlines()
    assert client.get("/statements/MMO-2026/2027-03", headers=OPS).status_code == 422
    assert client.get("/statements/NOPE/2026-03", headers=OPS).status_code == 404
    assert client.get("/statements/MMO-2026/2026-13", headers=OPS).status_code == 422


def test_a_contract_loads_and_a_bad_one_is_refused_naming_the_place(api):
    client, _ = api
    good = """
contract_id: T-2026
payer: Test Payer
name: test
versions:
  - version: 1
    effective_from: 2026-01-01
    member_month_rule: prorated
    pmpm_fees: {low: "1.00", moderate: "2.00", high: "3.00", complex: "4.00"}
"""
    r = client.post("/contracts", content=good, headers={**ADMIN, "Content-Type": "application/yaml"})
    assert r.status_code == 201 and r.json()["changed"] is True
    assert client.post("/contracts", content=good, headers=ADMIN).json()["changed"] is False
    assert "T-2026" in {c["contract_id"] for c in client.get("/contracts", headers=OPS).json()}
    r = client.post("/contracts", content=good.replace('high: "3.00"', 'high: "three"'), headers=ADMIN)
    assert r.status_code == 422
    assert [p.split(":")[0] for p in r.json()["detail"]["problems"]] == ["versions[0].pmpm_fees.high"]
    assert "three" not in r.text
    r = client.post("/contracts", content=good.replace("2026-01-01", "2026-01-15"), headers=ADMIN)
    assert r.status_code == 422 and "first day of a month" in r.json()["detail"]["problems"][0]
    r = client.post("/contracts", json={"contract_id": "X"}, headers=ADMIN)
    assert r.status_code == 422 and any("payer" in p for p in r.json()["detail"]["problems"])


def test_what_if_posts_nothing_and_metrics_are_fed(api):
    client, db = api
    with db.reader() as s:
        before = s.scalar(select(func.count()).select_from(ledger_entries))
    r = client.post("/what-if/MMO-2026/2026-03", json={"overrides": {"pmpm_fees": {"high": "35.00"}}}, headers=OPS)
    assert r.status_code == 200
    assert r.json()["difference"]["fees"] == "5.00"
    bad = client.post("/what-if/MMO-2026/2026-03", json={"overrides": {"pmpm_fees": {"high": "-1"}}}, headers=OPS)
    assert bad.status_code == 422
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(ledger_entries)) == before
    body = {"contract_id": "MMO-2026", "period": "2026-03", "metric": "median_days_to_appointment", "value": "6.5"}
    assert client.post("/satisfaction-metrics", json=body, headers=OPS).status_code == 403
    assert client.post("/satisfaction-metrics", json=body, headers=SUPERVISOR).status_code == 201
    assert client.post("/satisfaction-metrics", json={**body, "value": "soon"}, headers=SUPERVISOR).status_code == 422
    with db.reader() as s:
        assert s.execute(select(fed_metrics.c.value)).scalar() == "6.5"
    st = client.get("/statements/MMO-2026/2026-03", headers=OPS).json()
    wait = next(b for b in st["bonuses"]["rules"] if b["rule"] == "reasonable-wait-times")
    assert (wait["measured"], wait["met"], wait["amount"]) == ("6.5000", True, "1000.00")


def test_the_api_does_not_serve_the_workers_ledger_gauges(api):
    client, _ = api
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    # the worker serves them from the database; an API copy would start at zero and double a sum
    assert "billing_accrued_cents" not in scraped.text
    assert "billing_member_months" not in scraped.text
    assert "ccp_consumer_events_total" in scraped.text  # the shared metrics are served


def test_a_figure_is_explained_to_admin_with_members_audited_and_to_ops_without_them(api):
    client, db = api
    with db.transaction() as s:
        Billing(open_month_policy="fixed", open_month="2026-04", estimate_interval_s=0).handle(s, [
            claim("M1", "C2", (("99214", date(2026, 3, 9), "40.00"),)),
            claim("M1", "C2", (("99214", date(2026, 3, 9), "40.00"),), frequency="8", original="C2",
                  received=date(2026, 4, 3)),
            claim("M2", "V9", (("99213", date(2026, 3, 4), "10.00"),), frequency="8", original="NEVER"),
        ])
    admin = client.get("/explain/MMO-2026/2026-03/cost_of_care", headers=ADMIN)
    assert admin.status_code == 200, admin.text
    body = admin.json()
    assert body["amount"] == "75.00" and body["books"] == {"account": "cost_of_care", "net_posted": "75.00"}
    assert [(c["member_id"], c["claim_id"]) for c in body["claims_counted"]] == [("M1", "C1")]
    assert {(e["claim_id"], e["status"]) for e in body["claims_excluded"]} == {("C2", "voided"), ("C2", "void"),
                                                                                ("V9", "held")}
    assert ("admin", "M1", "GET /explain/MMO-2026/2026-03/cost_of_care") in audited(db)
    ops = client.get("/explain/MMO-2026/2026-03/cost_of_care", headers=OPS)
    assert ops.status_code == 200 and "M1" not in ops.text and ops.json()["counts"]["claims_counted"] == 1
    assert client.get("/explain/MMO-2026/2026-03/cost_of_care?member=M1", headers=OPS).status_code == 403
    fees = client.get("/explain/MMO-2026/2026-03/fees:high?limit=1", headers=SUPERVISOR).json()
    assert fees["amount"] == "30.00" and len(fees["member_months"]) == 1
    bad = client.get("/explain/MMO-2026/2026-03/profit", headers=ADMIN)
    assert bad.status_code == 422 and "bonus:colorectal-screening" in bad.text
    assert client.get("/explain/NOPE/2026-03/fees", headers=ADMIN).status_code == 404
    assert client.get("/explain/MMO-2026/2026-13/fees", headers=ADMIN).status_code == 422

    held = client.get("/claims/held", headers=ADMIN).json()
    assert held["counts"] == {"replacement": 0, "void": 1} and [(r["member_id"], r["claim_id"], r["waiting_for"]) for r in held["rows"]] \
        == [("M2", "V9", "NEVER")]
    assert client.get("/claims/held", headers=OPS).json() == {"counts": {"replacement": 0, "void": 1}}
