"""The web kit (``shared.web``) on a page app of its own, in process: the signed session cookie,
its purpose, expiry and key rotation, CSRF, the login form's double-submit token, the login's
refusals and ``next``, logout that ends a copied cookie, the layout and the security headers."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shared.users import User, UserDirectory, hash_key
from shared.web.kit import PageKit, Site, install_page_headers, page_templates, safe_next, static_files
from shared.web.login import install_api_key_login
from shared.web.sessions import SessionSigner, nonce_ok, session_key

KEY = b"k" * 32
ADA = User(id="ada", name="Ada Nurse", roles=frozenset({"nurse"}), api_keys_sha256=(hash_key("key-ada"),))
OPS = User(id="ops", name="Ops", roles=frozenset({"ops"}), api_keys_sha256=(hash_key("key-ops"),))


class Revoked:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    def revoked(self, session_id: str) -> bool:
        return session_id in self.ids

    def revoke(self, session_id: str, expires_at: datetime, now: datetime) -> None:
        self.ids.add(session_id)


def make_app(tmp_path: Path, directory: UserDirectory | None = None) -> tuple[FastAPI, Revoked]:
    (tmp_path / "home.html").write_text('{% extends "kit/base.html" %}{% block content %}<h1>Home</h1>'
                                        '<form method="post" action="/act"><input type="hidden" name="csrf_token" '
                                        'value="{{ csrf }}"></form>{% endblock %}')
    revoked = Revoked()
    kit = PageKit(site=Site("Test page", "/home"), templates=page_templates(tmp_path), secure=False,
                  signer=SessionSigner(KEY, 3600, purpose="test"), directory=directory or UserDirectory([ADA, OPS]),
                  session_cookie="t_session", login_cookie="t_login", revocations=revoked)
    app = FastAPI()
    install_page_headers(app, skip_prefixes=("/api/",))
    install_api_key_login(app.router, kit, admit=lambda u: None if u.has("nurse") else "This page is for nurses.",
                          landing="/home")

    @app.get("/home")
    def home(request: Request) -> Response:
        session = kit.session(request)
        if session is None:
            return kit.to_login("/home")
        return kit.render(request, "home.html", {}, session=session)

    @app.post("/act")
    async def act(request: Request) -> Response:
        session = kit.session(request)
        form = await request.form()
        ok = session is not None and kit.csrf_ok(session, form.get("csrf_token"))
        return Response(status_code=204 if ok else 403)

    app.mount("/static", static_files(), name="static")
    return app, revoked


def login(client: TestClient, key: str, next_path: str | None = None):
    page = client.get("/login" + (f"?next={next_path}" if next_path else ""))
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
    data = {"api_key": key, "login_token": token}
    if next_path:
        data["next"] = next_path
    return client.post("/login", data=data, follow_redirects=False)


@pytest.fixture
def client(tmp_path):
    app, _ = make_app(tmp_path)
    with TestClient(app) as c:
        yield c


def test_a_signed_cookie_names_the_user_without_the_key_and_only_for_its_purpose():
    signer = SessionSigner(KEY, 60, purpose="outreach")
    cookie, session = signer.issue(ADA)
    directory = UserDirectory([ADA])
    assert "key-ada" not in cookie and signer.verify(cookie, directory) == session
    assert SessionSigner(KEY, 60, purpose="risk").verify(cookie, directory) is None, "another page's cookie"
    assert signer.verify(cookie, directory, now=session.expires_at + 1) is None, "expired"
    rotated = UserDirectory([ADA.model_copy(update={"api_keys_sha256": (hash_key("new-key"),)})])
    assert signer.verify(cookie, rotated) is None, "a new key ends the old sessions"
    payload, mac = cookie.split(".")
    assert signer.verify(f"{payload}A.{mac}", directory) is None
    assert signer.verify("x" * 2000, directory) is None
    assert signer.csrf_ok(session.session_id, signer.csrf_token(session.session_id))
    assert not signer.csrf_ok(session.session_id, None) and not signer.csrf_ok("other", signer.csrf_token("x"))
    assert nonce_ok("abc", "abc") and not nonce_ok("abc", "abd") and not nonce_ok(None, None)
    # non-ASCII text (any form may send it) is refused, not a TypeError from compare_digest
    assert not signer.csrf_ok(session.session_id, "\u00e9" * 43) and not nonce_ok("abc", "\u00e9bc")
    assert nonce_ok("\u00e9", "\u00e9")


def test_the_session_key_is_refused_when_missing_or_short_in_production():
    with pytest.raises(SystemExit, match="must be set in production"):
        session_key(None, production=True)
    with pytest.raises(SystemExit, match="at least 32 characters"):
        session_key(SecretStr("short"), production=False)
    assert session_key(SecretStr("s" * 40), production=True) == b"s" * 40
    assert len(session_key(None, production=False)) == 32


def test_login_refuses_an_expired_form_a_wrong_key_and_a_user_the_page_is_not_for(client):
    assert client.post("/login", data={"api_key": "key-ada", "login_token": "forged"}).status_code == 403
    wrong = login(client, "nope")
    assert wrong.status_code == 401 and "That key is not valid." in wrong.text
    ops = login(client, "key-ops")
    assert ops.status_code == 403 and "This page is for nurses." in ops.text and 'role="alert"' in ops.text


def test_login_sets_a_strict_httponly_cookie_and_goes_on_to_a_local_next_only(client):
    assert client.get("/home", follow_redirects=False).headers["location"] == "/login?next=/home"
    answer = login(client, "key-ada", "/home")
    assert answer.status_code == 303 and answer.headers["location"] == "/home"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("t_session=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/home")
    assert page.status_code == 200 and "Signed in as <strong>Ada Nurse</strong>" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    client.cookies.clear()
    assert login(client, "key-ada", "//evil.example/x").headers["location"] == "/home"
    assert safe_next("/\\evil", "/x") == "/x" and safe_next("https://evil", "/x") == "/x"


def test_forms_need_the_sessions_csrf_token_and_logout_ends_a_copied_cookie(tmp_path):
    app, revoked = make_app(tmp_path)
    with TestClient(app) as client:
        login(client, "key-ada")
        page = client.get("/home").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post("/act", data={"csrf_token": "x"}).status_code == 403
        assert client.post("/act", data={"csrf_token": token}).status_code == 204
        copied = client.cookies["t_session"]
        forged = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
        assert forged.status_code == 403 and not revoked.ids, "a forged logout does nothing"
        bye = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert bye.status_code == 303 and bye.headers["location"] == "/login?m=bye" and revoked.ids
        assert "You are logged out." in client.get("/login?m=bye").text
        client.cookies.set("t_session", copied)
        assert client.get("/home", follow_redirects=False).headers["location"].startswith("/login")


def test_the_kit_style_sheet_is_served_beside_the_pages_own_files(client):
    css = client.get("/static/kit.css")
    assert css.status_code == 200 and ".card" in css.text and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/nothing.css").status_code == 404
