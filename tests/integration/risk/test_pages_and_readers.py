"""The risk API's pages on the web kit and who may read a risk view, in process (SQLite; the
browser test drives the ops page through the real processes): the ops page's sign-in refusals,
its session opening the CSV, sign-out ending a copied cookie; the risk view for a care-team key,
for the outreach service on behalf of a named nurse (audited under her), and refused otherwise."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from services.risk.adapters.database import open_database
from services.risk.adapters.unit_of_work import SqlUnitOfWork
from services.risk.adapters.wiring import build_context
from services.risk.api import create_api
from services.risk.settings import RiskSettings
from tests.unit.risk import events as ev
from tests.unit.risk.fakes import through_routes

SERVICE = {"X-API-Key": "dev-service-outreach"}


@pytest.fixture
def risk(tmp_path):
    url = f"sqlite:///{tmp_path}/risk.db"
    settings = RiskSettings(environment="test", database_url=url, as_of=date(2026, 3, 12))
    db = open_database(url)
    db.create_schema()
    m = ev.member("PG")
    with db.transaction() as s:
        through_routes(SqlUnitOfWork.for_session(s), [ev.roster(m, tier="low")], build_context(settings))
    with db.transaction() as s:
        through_routes(SqlUnitOfWork.for_session(s), [ev.office_claim(m, ("E1122", "I5022"), date(2026, 2, 20),
                                                                      claim_id="CLM-PG1")], build_context(settings))
    db.dispose()
    with TestClient(create_api(settings), base_url="http://testserver", follow_redirects=False) as client:
        yield client, m, url


def sign_in(client: TestClient, key: str, next_path: str = "/ops/extended-hours"):
    form = client.get(f"/login?next={next_path}")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"api_key": key, "login_token": token, "next": next_path})


def audit_rows(url: str, member_id: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT user_id, role, endpoint, detail FROM audit_log WHERE member_id = :m"), {"m": member_id})]
    finally:
        engine.dispose()


def test_the_ops_page_signs_in_ops_users_only_and_sign_out_ends_a_copied_cookie(risk):
    client, _m, _url = risk
    assert client.get("/ops/extended-hours").headers["location"] == "/login?next=/ops/extended-hours"
    nurse = sign_in(client, "dev-nurse-east1")
    assert nurse.status_code == 403 and "This page is for supervisors and operations." in nurse.text
    assert sign_in(client, "not-a-key").status_code == 401
    ok = sign_in(client, "dev-supervisor-east")
    assert ok.status_code == 303 and ok.headers["location"] == "/ops/extended-hours"
    assert "HttpOnly" in ok.headers["set-cookie"] and "dev-supervisor-east" not in ok.headers["set-cookie"]
    page = client.get("/ops/extended-hours")
    assert page.status_code == 200 and "Signed in as <strong>Supervisor East</strong>" in page.text
    assert '<link rel="stylesheet" href="/static/kit.css">' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.get("/ed-evidence.csv").status_code == 200, "the page's session opens its CSV link"
    copied = client.cookies["ccp_risk_session"]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    bye = client.post("/logout", data={"csrf_token": csrf})
    assert bye.status_code == 303 and bye.headers["location"] == "/login"
    client.cookies.set("ccp_risk_session", copied)
    assert client.get("/ops/extended-hours").headers["location"].startswith("/login")
    assert client.get("/ed-evidence.csv").status_code == 401


def test_a_service_reads_a_risk_view_only_on_behalf_of_a_named_care_team_user_and_is_audited_under_her(risk):
    client, m, url = risk
    assert client.get(f"/members/{m}/risk", headers=SERVICE).status_code == 403, "for nobody"
    assert client.get(f"/members/{m}/risk", headers={**SERVICE, "X-On-Behalf-Of": "ops"}).status_code == 403
    assert client.get(f"/members/{m}/risk", headers={**SERVICE, "X-On-Behalf-Of": "nobody"}).status_code == 403
    assert client.get(f"/members/{m}/risk", headers={"X-API-Key": "dev-feed-adt",
                                                     "X-On-Behalf-Of": "nurse.east1"}).status_code == 403
    view = client.get(f"/members/{m}/risk", headers={**SERVICE, "X-On-Behalf-Of": "nurse.east1"})
    assert view.status_code == 200 and view.json()["tier"]["computed"] in ("moderate", "high")
    assert client.get(f"/members/{m}/risk", headers={"X-API-Key": "dev-nurse-east1"}).status_code == 200
    rows = audit_rows(url, m)
    assert ("nurse.east1", "nurse", "/members/{id}/risk", "risk view (via service.outreach)") in rows
    assert ("nurse.east1", "nurse", "/members/{id}/risk", "risk view") in rows
    assert not [r for r in rows if r[0] == "service.outreach"], "the person is the reader, the service the relay"


def test_the_fragment_is_the_kits_risk_view(risk):
    client, m, _url = risk
    fragment = client.get(f"/members/{m}/risk/fragment", headers={"X-API-Key": "dev-nurse-east1"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<section class="risk-view"')
    assert "Heart Failure" in fragment.text and "CLM-PG1" in fragment.text and "Rule:" in fragment.text
