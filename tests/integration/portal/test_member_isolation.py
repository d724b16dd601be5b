"""Member A can read or act on nothing of member B's: not by guessing ids, not by changing form
fields, not with B's session cookie gone stale; sessions expire; every form needs its CSRF token."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.unit.portal import events as ev

from .conftest import Clock, csrf_of, form_token_of, member_id, sign_in, topic_messages


def _two_members(portal_env):
    a, b = member_id("MA"), member_id("MB")
    portal_env.produce([ev.roster(a, given="Alma"), ev.roster(b, given="Bruno")])
    portal_env.wait_member(a)
    portal_env.wait_member(b)
    return a, b


def _send(client, subject: str, **extra):
    page = client.get("/messages")
    data = {"csrf_token": csrf_of(page.text), "form_token": form_token_of(page.text), "topic": "care_question",
            "subject": subject, "body": "A question for my nurse.", **extra}
    return client.post("/messages", data=data)


def test_member_a_cannot_reach_member_bs_records(portal_env, worker):
    a, b = _two_members(portal_env)
    with portal_env.api() as ca, portal_env.api() as cb:
        assert sign_in(ca, a).status_code == 303 and sign_in(cb, b).status_code == 303
        sent = _send(cb, "Bruno's private question")
        assert sent.status_code == 303
        b_message = sent.headers["location"].split("/")[2].split("?")[0]

        # id guessing: B's message through A's session is "not found", like an id that does not exist
        got = ca.get(f"/messages/{b_message}")
        assert got.status_code == 404 and "Bruno" not in got.text and "private question" not in got.text
        assert ca.get("/messages/00000000-0000-0000-0000-000000000000").status_code == 404
        assert ca.get("/messages/not-a-uuid").status_code == 404
        # acting on it: a follow-up to B's thread from A's session is refused the same way
        page = ca.get("/messages")
        r = ca.post(f"/messages/{b_message}/reply", data={"csrf_token": csrf_of(page.text),
                                                          "form_token": form_token_of(page.text), "body": "hi"})
        assert r.status_code == 404
        # changed form fields: a member_id in the form is ignored; the message is A's
        sent = _send(ca, "Mine", member_id=b, member=b)
        assert sent.status_code == 303
        owner = portal_env.scalar("SELECT member_id FROM portal_messages WHERE subject = 'Mine' AND member_id IN (:a, :b)",
                                  a=a, b=b)
        assert owner == a
        # FHIR with A's session: B's record is not found; a search for B is forbidden
        assert ca.get(f"/fhir/Patient/{b}/$everything").status_code == 404
        assert ca.get(f"/fhir/Patient/{b}").status_code == 404
        assert ca.get(f"/fhir/Task?patient=Patient/{b}").status_code == 403
        # B's page shows B's messages only, A's shows A's only
        assert "Mine" not in cb.get("/messages").text
        assert "Bruno's private question" not in ca.get("/messages").text

    msgs = topic_messages(portal_env.settings, "portal.messages",
                          lambda ms: sum(1 for m in ms if json.loads(m.value())["member_id"] in (a, b)) >= 2)
    by_member = {json.loads(m.value())["subject"]: json.loads(m.value())["member_id"] for m in msgs}
    assert by_member["Mine"] == a and by_member["Bruno's private question"] == b
    # no read of B's member id was made by A: the audit rows of A's requests name A only
    users = {r.user_id for r in portal_env.rows("SELECT user_id FROM audit_log WHERE member_id = :b", b=b)}
    assert users == {f"member:{b}"}


def test_a_session_cookie_is_the_only_key_and_it_expires(portal_env, worker):
    a, _ = _two_members(portal_env)
    clock = Clock()
    with portal_env.api(clock) as client:
        signed = sign_in(client, a)
        cookie = signed.cookies.get("ccp_portal_session")
        assert cookie and a not in cookie
        set_cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        assert client.get("/").status_code == 200
        clock.offset = timedelta(minutes=21)                      # idle too long
        assert client.get("/").headers["location"] == "/signin?m=expired"
    with portal_env.api(clock) as client:
        assert sign_in(client, a).status_code == 303
        ended_after = None
        for minutes in range(15, 9 * 60, 15):                     # in use all day ...
            clock.offset = timedelta(minutes=21 + minutes)
            if client.get("/").status_code != 200:
                ended_after = minutes
                break
        assert ended_after == 8 * 60                              # ... until its 8-hour lifetime
        assert client.get("/fhir/Patient/" + a).status_code == 401
    with portal_env.api() as client:
        assert sign_in(client, a).status_code == 303
        page = client.get("/")
        stolen = client.cookies.get("ccp_portal_session")
        assert client.post("/signout", data={"csrf_token": csrf_of(page.text)}).headers["location"] == "/signin?m=bye"
    with portal_env.api() as other:
        other.cookies.set("ccp_portal_session", stolen)
        assert other.get("/").status_code == 303                  # revoked at sign-out
        other.cookies.set("ccp_portal_session", "forged-" + stolen[7:])
        assert other.get("/").status_code == 303


def test_every_form_needs_its_csrf_token(portal_env, worker):
    a, _ = _two_members(portal_env)
    with portal_env.api() as client:
        assert sign_in(client, a).status_code == 303
        page = client.get("/messages")
        before = portal_env.scalar("SELECT count(*) FROM portal_messages WHERE member_id = :m", m=a)
        for token in (None, "", "x" * 32, csrf_of(page.text)[:-1] + "A"):
            data = {"form_token": form_token_of(page.text), "topic": "care_question", "subject": "s", "body": "b"}
            if token is not None:
                data["csrf_token"] = token
            assert client.post("/messages", data=data).status_code == 403
        assert client.post("/signout", data={}).status_code == 403
        assert client.get("/").status_code == 200                 # sign-out without the token did nothing
        assert portal_env.scalar("SELECT count(*) FROM portal_messages WHERE member_id = :m", m=a) == before
    with portal_env.api() as fresh:
        # the sign-in form's double-submit token: a cross-site POST (no cookie) is refused
        from services.portal.domain.signin import dev_signin_code
        r = fresh.post("/signin", data={"member_id": a, "code": dev_signin_code(a), "signin_token": "guess"})
        assert r.status_code == 403 and "ccp_portal_session" not in r.cookies


def test_a_token_with_non_ascii_characters_is_refused_not_a_server_error(portal_env, worker):
    """Found by the API fuzzing (tests/fuzz): the CSRF and the sign-in form's tokens were compared as
    str, and compare_digest raises TypeError for non-ASCII text (a 500 instead of a 403)."""
    a, _ = _two_members(portal_env)
    with portal_env.api() as client:
        page = client.get("/signin")
        assert page.status_code == 200 and "ccp_portal_signin" in client.cookies
        r = client.post("/signin", data={"member_id": a, "code": "x", "signin_token": "\u00e9t\u00e9"})
        assert r.status_code == 403 and "ccp_portal_session" not in r.cookies
        assert sign_in(client, a).status_code == 303
        page = client.get("/messages")
        form = {"csrf_token": "\u00e9" * 24, "form_token": form_token_of(page.text), "topic": "care_question",
                "subject": "s", "body": "b"}
        assert client.post("/messages", data=form).status_code == 403
        assert client.post("/signout", data={"csrf_token": "\u00fc"}).status_code == 403
        assert client.get("/").status_code == 200


def test_sign_in_needs_the_code_not_only_the_member_id_and_guessing_locks(portal_env, worker):
    a, b = _two_members(portal_env)
    from services.portal.domain.signin import dev_signin_code
    with portal_env.api() as client:
        assert sign_in(client, a, code=a).status_code == 401
        assert sign_in(client, a, code=dev_signin_code(b)).status_code == 401
        assert sign_in(client, "NOBODY", code=dev_signin_code("NOBODY")).status_code == 401
        for _ in range(3):
            sign_in(client, a, code="WRONG-CODE")
        locked = sign_in(client, a)
        assert locked.status_code == 429 and "paused" in locked.text
        assert sign_in(client, b).status_code == 303


def test_every_route_without_a_session_shows_no_member_data(portal_env, worker):
    """Each route of the app, filled with a real member's ids, answers a sign-in redirect, 401/403/404
    or a public page (sign-in, health, metrics, metadata) — never that member's data, never a 5xx."""
    from starlette.routing import Route

    a, _ = _two_members(portal_env)
    public = {"/signin", "/healthz", "/metrics", "/fhir/metadata", "/openapi.json", "/docs", "/docs/oauth2-redirect",
              "/redoc", "/signin/oidc", "/signin/oidc/callback"}
    with portal_env.api() as owner:
        assert sign_in(owner, a).status_code == 303
        sent = _send(owner, "Only mine")
        message_id = sent.headers["location"].split("/")[2].split("?")[0]
    with portal_env.api() as anonymous:
        routes = [r for r in anonymous.app.routes if isinstance(r, Route)]
        assert len(routes) >= 12
        for route in routes:
            path = (route.path.replace("{message_id}", message_id).replace("{patient_id}", a)
                    .replace("{resource_type}", "Task"))
            for method in sorted(route.methods - {"HEAD"}):
                r = anonymous.request(method, path + ("?patient=" + a if "{resource_type}" in route.path else ""))
                assert r.status_code < 500, (method, path, r.status_code)
                if route.path in public:
                    continue
                assert r.status_code in (303, 401, 403, 404), (method, path, r.status_code)
                assert a not in r.text and "Only mine" not in r.text, (method, path)
