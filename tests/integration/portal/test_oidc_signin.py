"""OpenID Connect sign-in (production's way in) against a real OpenID provider started by the
test on its own port: discovery, PKCE, nonce, ID-token validation, the member claim; the FHIR
API's bearer tokens; and production refusing development codes."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from services.portal.domain.signin import dev_signin_code
from services.portal.settings import PortalSettings
from tests.unit.portal import events as ev

from .conftest import member_id, sign_in
from .oidc_provider import Provider, browser_sign_in
from .oidc_provider import client_settings as oidc_settings


@pytest.fixture
def provider():
    with Provider() as p:
        yield p


def test_a_member_signs_in_through_the_provider_and_reads_their_page(portal_env, worker, provider):
    m = member_id("MOIDC")
    portal_env.produce([ev.roster(m, given="Olga")])
    portal_env.wait_member(m)
    provider.subject_claims = {"sub": "idp-user-42", "member_id": m}
    with portal_env.api(**oidc_settings(provider)) as client:
        page = client.get("/signin")
        assert 'href="/signin/oidc"' in page.text
        done = browser_sign_in(client, provider)
        assert done.status_code == 303 and done.headers["location"] == "/", done.text
        assert "Hello, Olga" in client.get("/").text
        # the code is single use: the same callback again is refused
        assert provider.token_requests == 1
    rows = portal_env.rows("SELECT action, detail FROM audit_log WHERE member_id = :m ORDER BY id", m=m)
    assert rows[0].action == "signin" and "via=oidc" in rows[0].detail


@pytest.mark.parametrize("tamper", ["wrong_audience", "expired", "wrong_nonce", "rogue_key", "wrong_issuer"])
def test_an_id_token_that_does_not_check_out_signs_nobody_in(portal_env, worker, provider, tamper):
    m = member_id("MBAD")
    portal_env.produce([ev.roster(m)])
    portal_env.wait_member(m)
    provider.subject_claims = {"sub": "x", "member_id": m}
    provider.tamper = {tamper}
    with portal_env.api(**oidc_settings(provider)) as client:
        if tamper == "wrong_issuer":
            assert client.get("/signin/oidc").status_code == 503    # discovery names another issuer
            return
        done = browser_sign_in(client, provider)
        assert done.status_code == 401 and "ccp_portal_session" not in done.cookies
        assert client.get("/").status_code == 303


def test_a_callback_without_the_browsers_state_cookie_or_for_an_unknown_member_is_refused(portal_env, worker,
                                                                                          provider):
    provider.subject_claims = {"sub": "x", "member_id": "NOT-ON-THE-ROSTER"}
    with portal_env.api(**oidc_settings(provider)) as client:
        assert browser_sign_in(client, provider).status_code == 403       # valid token, unknown member
        start = client.get("/signin/oidc")
        back = httpx.get(start.headers["location"], follow_redirects=False)
        cb = urlsplit(back.headers["location"])
    with portal_env.api(**oidc_settings(provider)) as other_browser:      # login CSRF: another browser's code
        assert other_browser.get(f"{cb.path}?{cb.query}").status_code == 400


def test_fhir_accepts_the_providers_access_tokens_for_the_members_own_record_only(portal_env, worker, provider):
    a, b = member_id("MTOKA"), member_id("MTOKB")
    portal_env.produce([ev.roster(a), ev.roster(b), ev.gap_opened(a, "CMS125")])
    portal_env.wait_member(a)
    portal_env.wait_member(b)
    with portal_env.api(**oidc_settings(provider)) as client:
        def get(path, token):
            return client.get(path, headers={"Authorization": f"Bearer {token}"})
        ok = get(f"/fhir/Patient/{a}/$everything", provider.access_token(a))
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/fhir+json")
        assert {e["resource"]["resourceType"] for e in ok.json()["entry"]} >= {"Patient", "DetectedIssue"}
        assert get(f"/fhir/Patient/{b}/$everything", provider.access_token(a)).status_code == 404
        assert get(f"/fhir/Patient/{a}", provider.access_token(a, rogue=True)).status_code == 401
        assert get(f"/fhir/Patient/{a}", provider.access_token(a, expires_in=-600)).status_code == 401
        assert get(f"/fhir/Patient/{a}", provider.access_token(a, audience="another-api")).status_code == 401
        assert get(f"/fhir/Patient/{a}", provider.access_token(a, issuer="http://evil.example")).status_code == 401
        assert get(f"/fhir/Patient/{a}", "not-a-jwt").status_code == 401
    detail = portal_env.scalar("SELECT detail FROM audit_log WHERE member_id = :m AND endpoint LIKE 'FHIR %'", m=a)
    assert "via=oidc" in detail


def test_production_refuses_development_codes_and_demands_openid_connect(portal_env, worker, provider):
    m = member_id("MPROD")
    portal_env.produce([ev.roster(m)])
    portal_env.wait_member(m)
    import yaml
    from shared.auth import hash_key
    users = portal_env.tmp / "users.production.yaml"
    users.write_text(yaml.safe_dump({"users": [{"id": "nurse.prod", "name": "Nurse Prod", "roles": ["nurse"],
                                                "pods": ["pod-east"], "api_keys_sha256": [hash_key("k" * 40)]}]}))
    settings = {**oidc_settings(provider), "environment": "production", "session_cookie_secure": True,
                "users_file": str(users)}
    with portal_env.api(**settings) as client:
        page = client.get("/signin")
        assert 'name="code"' not in page.text and 'href="/signin/oidc"' in page.text
        refused = client.post("/signin", data={"member_id": m, "code": dev_signin_code(m), "signin_token": "t"})
        assert refused.status_code == 403 and "not available" in refused.text
        assert "ccp_portal_session" not in refused.cookies
        assert "secure" in client.get("/signin").headers["set-cookie"].lower()
    base = portal_env.settings.model_dump()
    for broken in ({}, {"dev_signin": True}, {"oidc_redirect_uri": "http://portal.example/cb"},
                   {"dev_signin_secret": SecretStr("x" * 40)}):
        s = PortalSettings(**{**base, **oidc_settings(provider), "environment": "production", **broken})
        if broken == {}:
            s = PortalSettings(**{**base, "environment": "production"})
        with pytest.raises(SystemExit):
            s.check_for_serving()
    PortalSettings(**{**base, **oidc_settings(provider), "environment": "production",
                      "oidc_redirect_uri": "https://portal.example/signin/oidc/callback"}).check_for_serving()
    assert dev_signin_code(m)  # the code exists, production just does not take it
