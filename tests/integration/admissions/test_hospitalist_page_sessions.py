"""The hospitalist page's sessions on the platform's web kit (``shared.web``), against the real
admissions API app (real PostgreSQL, real Kafka for its producer and alert tail).

Hospitalists (and admins) only; the session cookie is signed, HttpOnly, SameSite=Strict, scoped
to ``/hospitalist`` and never holds the key; forms refuse a forged CSRF token; logging out needs
the session's token and ends the session for good: a copied cookie opens neither the page nor
the live stream afterwards (the logout is kept in admissions' ``revoked_sessions``). The pages
carry the kit's layout and security headers; the JSON API does not.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from services.admissions.api import create_api
from services.admissions.settings import AdmissionsSettings

PAGE = "/hospitalist"


@pytest.fixture
def client(kafka_topics, pg_url):
    settings = AdmissionsSettings(**{**kafka_topics.model_dump(), "database_url": pg_url, "environment": "test"})
    with TestClient(create_api(settings), base_url="http://testserver", follow_redirects=False) as c:
        yield c, pg_url


def log_in(client: TestClient, key: str, next_path: str | None = None):
    form = client.get(f"{PAGE}/login" + (f"?next={next_path}" if next_path else ""))
    assert form.status_code == 200
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    return client.post(f"{PAGE}/login", data={"api_key": key, "login_token": token, "next": next_path or ""})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def revoked_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM revoked_sessions")).scalar()
    finally:
        engine.dispose()


def test_hospitalists_log_in_with_their_key_and_logging_out_ends_a_copied_cookie(client):
    c, url = client
    assert c.get(PAGE).headers["location"] == f"{PAGE}/login"
    assert c.get(f"{PAGE}/members/M1").headers["location"] == f"{PAGE}/login?next={PAGE}/members/M1"
    assert c.get(f"{PAGE}/stream").status_code == 401

    nurse = log_in(c, "dev-nurse-east1")
    assert nurse.status_code == 403 and "This page is for hospitalists." in nurse.text
    assert log_in(c, "not-a-key").status_code == 401
    stale = c.post(f"{PAGE}/login", data={"api_key": "dev-hospitalist-hg-north", "login_token": "made-up"})
    assert stale.status_code == 403 and "Your login form expired" in stale.text

    ok = log_in(c, "dev-hospitalist-hg-north", f"{PAGE}/members/M1")
    assert ok.status_code == 303 and ok.headers["location"] == f"{PAGE}/members/M1", "on to the page asked for"
    cookie = ok.headers["set-cookie"]
    assert cookie.startswith("ccp_hsession=") and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert f"Path={PAGE}" in cookie and "dev-hospitalist" not in cookie

    page = c.get(PAGE)
    assert page.status_code == 200 and "Signed in as <strong>" in page.text
    assert '<span id="alert-count">0</span>' in page.text
    assert f'href="{PAGE}/static/kit.css"' in page.text and f'href="{PAGE}/static/hospitalist.css"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    kit_css = c.get(f"{PAGE}/static/kit.css")
    assert kit_css.status_code == 200 and kit_css.headers["content-type"].startswith("text/css")
    assert "--accent" in kit_css.text, "the kit's style sheet, served beside the page's own"
    assert c.get(f"{PAGE}/static/../api.py").status_code == 404

    forged = c.post(f"{PAGE}/alerts/A-1/acknowledge", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and "Your form expired" in forged.text
    missing = c.post(f"{PAGE}/alerts/not-an-alert/acknowledge", data={"csrf_token": csrf_of(page.text)})
    assert missing.status_code == 404 and "Alert not found." in missing.text

    copied = c.cookies["ccp_hsession"]
    assert c.post(f"{PAGE}/logout", data={"csrf_token": "forged"}).status_code == 403, "a forged logout does nothing"
    assert c.get(PAGE).status_code == 200
    bye = c.post(f"{PAGE}/logout", data={"csrf_token": csrf_of(page.text)})
    assert bye.status_code == 303 and bye.headers["location"] == f"{PAGE}/login?m=bye"
    assert "You are logged out." in c.get(bye.headers["location"]).text
    assert revoked_count(url) == 1

    c.cookies.set("ccp_hsession", copied, path=PAGE)
    assert c.get(PAGE).headers["location"] == f"{PAGE}/login", "the copied cookie died with the logout"
    assert c.get(f"{PAGE}/stream").status_code == 401


def test_the_json_api_keeps_its_own_headers(client):
    c, _url = client
    answer = c.get("/alerts", headers={"X-API-Key": "dev-hospitalist-hg-north"})
    assert answer.status_code == 200 and answer.json() == []
    assert "content-security-policy" not in answer.headers
