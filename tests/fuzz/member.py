"""The member portal in the API fuzzing: its callers are members, not staff keys.

The portal is built as a client of the test OpenID provider (``tests/integration/portal/oidc_provider.py``:
discovery, PKCE, nonce, tokens signed with the key its JWKS publishes); the seeded member
(``seed._portal``) then has two identities, as in production:

- ``Authorization: Bearer <access token>`` signed by the provider for the API's audience (the FHIR
  patient-access API);
- the session cookie of a browser signed in through the provider (the pages and the FHIR API).

``page_operations(csrf)`` describes the member's message pages in OpenAPI for the fuzzer. The app
keeps its HTML pages out of its own document (as the nurse page; the security suite tells pages from
API operations that way), so the test adds them: the forms as a browser posts them, with the
session's CSRF token as the form carries it, and what each answers (a page, a redirect, a refusal).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from shared.events.portal import MAX_BODY, MAX_SUBJECT, MESSAGE_TOPICS
from tests.integration.portal.oidc_provider import Provider, browser_sign_in, client_settings  # noqa: F401

SESSION_COOKIE = "ccp_portal_session"


def member_identities(app, idp: Provider, member: str) -> tuple[tuple[dict[str, str], ...], str]:
    """(the member's identities: bearer token, then session cookie; the session's CSRF token).

    The sign-in is a browser's (a test client of its own, not following redirects, that does not
    run the app's lifespan: the fuzzer's client owns it)."""
    idp.subject_claims = {"sub": f"fuzz-{member.lower()}", "member_id": member}
    browser = TestClient(app, base_url="http://testserver", follow_redirects=False)
    done = browser_sign_in(browser, idp)
    assert done.status_code == 303 and done.headers["location"] == "/", (done.status_code, done.text[:200])
    session = browser.cookies[SESSION_COOKIE]
    page = browser.get("/messages")
    assert page.status_code == 200, page.text[:200]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    token = idp.access_token(member, expires_in=3 * 3600)  # outlasts the long run
    return ({"Authorization": f"Bearer {token}"}, {"Cookie": f"{SESSION_COOKIE}={session}"}), csrf


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _redirect(description: str) -> dict[str, Any]:
    return {"description": description, "headers": {"Location": {"required": True, "schema": {"type": "string"}}}}


def _form(csrf: str, **fields: dict[str, Any]) -> dict[str, Any]:
    properties = {"csrf_token": {"type": "string", "enum": [csrf]},
                  "form_token": {"type": "string", "minLength": 16, "maxLength": 64}, **fields}
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": properties, "required": sorted(properties)}}}}


def page_operations(csrf: str) -> dict[str, Any]:
    """OpenAPI paths of the member's pages (the overview and the message pages) for the fuzzer."""
    message_id = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}
    notice = {"name": "m", "in": "query", "required": False, "schema": {"type": "string"}}
    no_session = _redirect("no session (a bearer token is not a page session): to /signin")
    page = {"200": _html("the page"), "303": no_session,
            "404": _html("the member's record is not there (yet), or the message is not theirs")}
    posted = {"303": _redirect("sent (or the same form again): to the thread; no session: to /signin"),
              "403": _html("the form's CSRF token is not the session's"),
              "404": _html("no such message of this member"),
              "422": _html("the form again, with what to correct"),
              "503": _html("not sent: Kafka did not confirm the message in time")}
    text = {"type": "string", "maxLength": MAX_BODY + 10}
    return {
        "/": {"get": {"operationId": "page_home", "responses": page}},
        "/messages": {
            "get": {"operationId": "page_messages", "parameters": [notice], "responses": page},
            "post": {"operationId": "page_send_message", "responses": posted, "requestBody": _form(
                csrf, topic={"type": "string", "enum": list(MESSAGE_TOPICS)},
                subject={"type": "string", "maxLength": MAX_SUBJECT + 10}, body=text)},
        },
        "/messages/{message_id}": {
            "get": {"operationId": "page_thread", "parameters": [message_id, notice], "responses": page}},
        "/messages/{message_id}/reply": {
            "post": {"operationId": "page_follow_up", "parameters": [message_id], "responses": posted,
                     "requestBody": _form(csrf, body=text)}},
    }
