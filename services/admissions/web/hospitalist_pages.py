"""The hospitalist's alerts page, served by the admissions API under ``/hospitalist``.

Log in with the API key (a signed, HttpOnly, SameSite=Strict cookie; the key is not stored),
see the open alerts of your hospitalist groups newest first (admission or ED visit, facility,
location, attending, diagnoses, prior visits, readmission), new ones arriving live over
Server-Sent Events (``/hospitalist/stream``, fed by the API's tail of ``alerts.hospitalist``),
acknowledge one (CSRF-checked form), open a member's recent encounters. Every alert shown is an
audited read; acknowledging is an audited write.
"""

from __future__ import annotations

import secrets
from datetime import timezone
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ..app.alert_feed import AlertFeed
from ..app.queries import NotFound, Reads
from ..app.scope import scope_of
from .page_session import COOKIE, LOGIN_COOKIE, PageSettings, Signer, session_key
from .sse import alert_stream

HERE = Path(__file__).resolve().parent
PREFIX = "/hospitalist"
FieldIn = Annotated[str | None, Form()]
MESSAGES = {"acknowledged": "Alert acknowledged.", "bye": "You are logged out."}
KIND = {"inpatient_admit": "Admitted", "ed_visit": "ED visit"}
CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"


def hospitalist_router(settings, reads: Reads, directory, feed: AlertFeed) -> APIRouter:
    page = PageSettings()
    signer = Signer(session_key(page, settings.is_production()), int(page.session_hours * 3600))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["when"] = lambda d: d.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if d else ""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    secure = settings.is_production()

    def user_of(request: Request):
        s = signer.verify(request.cookies.get(COOKIE), directory)
        if s is None or not s.user.has("hospitalist", "admin"):
            return None
        return s

    def render(request: Request, name: str, ctx: dict, session=None, status_code: int = 200) -> HTMLResponse:
        base = {"user": session.user if session else None, "csrf": signer.csrf(session.session_id) if session else None,
                "kinds": KIND, "prefix": PREFIX}
        resp = templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status_code)
        resp.headers.update({"Cache-Control": "no-store", "Content-Security-Policy": CSP,
                             "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})
        return resp

    def set_cookie(resp: Response, name: str, value: str, max_age: int) -> None:
        resp.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict", secure=secure)

    def login_page(request: Request, error: str | None = None, message: str | None = None, code: int = 200):
        nonce = secrets.token_urlsafe(24)
        resp = render(request, "hospitalist_login.html", {"login_token": nonce, "error": error, "message": message},
                      status_code=code)
        set_cookie(resp, LOGIN_COOKIE, nonce, 1800)
        return resp

    @router.get("/login")
    def login_form(request: Request, m: str | None = None):
        return login_page(request, message=MESSAGES.get(m or ""))

    @router.post("/login")
    def login(request: Request, api_key: FieldIn = None, login_token: FieldIn = None):
        cookie = request.cookies.get(LOGIN_COOKIE)
        if not cookie or not login_token or cookie != login_token:
            return login_page(request, error="Your login form expired. Please try again.", code=403)
        user = directory.authenticate((api_key or "").strip())
        if user is None:
            return login_page(request, error="That key is not valid.", code=401)
        if not user.has("hospitalist", "admin"):
            return login_page(request, error="This page is for hospitalists.", code=403)
        resp = RedirectResponse(PREFIX, status_code=303)
        set_cookie(resp, COOKIE, signer.issue(user), signer.ttl)
        resp.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return resp

    @router.post("/logout")
    def logout():
        resp = RedirectResponse(f"{PREFIX}/login?m=bye", status_code=303)
        resp.delete_cookie(COOKIE, path=PREFIX)
        return resp

    @router.get("")
    def alerts_page(request: Request, m: str | None = None, error: str | None = None):
        s = user_of(request)
        if s is None:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        rows = reads.inbox(s.user, "PAGE GET /hospitalist", status="open", limit=200)
        return render(request, "hospitalist_alerts.html", {
            "alerts": rows, "groups": sorted(s.user.hospitalist_groups) or ["all"],
            "message": MESSAGES.get(m or ""), "error": error}, s)

    @router.post("/alerts/{alert_id}/acknowledge")
    def acknowledge(request: Request, alert_id: str, csrf_token: FieldIn = None):
        s = user_of(request)
        if s is None:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        if not signer.csrf_ok(s.session_id, csrf_token):
            return render(request, "hospitalist_error.html", {"error": "Your form expired. Reload the page and try "
                                                                       "again."}, s, 403)
        try:
            reads.acknowledge(s.user, alert_id, "PAGE POST /hospitalist/alerts/{id}/acknowledge")
        except NotFound:
            return render(request, "hospitalist_error.html", {"error": "Alert not found."}, s, 404)
        return RedirectResponse(f"{PREFIX}?m=acknowledged", status_code=303)

    @router.get("/members/{member_id}")
    def member_page(request: Request, member_id: str):
        s = user_of(request)
        if s is None:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        try:
            encounters = reads.member_encounters(s.user, member_id, "PAGE GET /hospitalist/members/{id}")[:20]
        except NotFound:
            return render(request, "hospitalist_error.html", {"error": "Member not found in your groups."}, s, 404)
        return render(request, "hospitalist_member.html", {"member_id": member_id, "encounters": encounters}, s)

    @router.get("/stream")
    async def stream(request: Request):
        s = user_of(request)
        if s is None:
            return Response(status_code=401)
        scope = scope_of(s.user)
        sub = feed.subscribe(lambda a: scope.everything or a.hospitalist_group in scope.groups)
        return alert_stream(feed, sub, settings.sse_keepalive_s,
                            lambda member_id: reads.alert_sent(s.user, member_id, "PAGE GET /hospitalist/stream"))

    @router.get("/static/{name}")
    def static(name: str):
        media = STATIC.get(name)
        if media is None:
            return Response(status_code=404)
        return FileResponse(HERE / "static" / name, media_type=media, headers={"Cache-Control": "max-age=300"})

    return router


STATIC = {"hospitalist.css": "text/css", "alerts.js": "text/javascript"}
