"""The hospitalist's alerts page, served by the admissions API under ``/hospitalist``, on the
platform's web kit (``shared.web``).

Log in with the API key (the kit's signed ``ccp_hsession`` cookie, purpose "hospitalist",
HttpOnly, SameSite=Strict, path ``/hospitalist``; the key is not stored), see the open alerts of
your hospitalist groups newest first (admission or ED visit, facility, location, attending,
diagnoses, prior visits, readmission), new ones arriving live over Server-Sent Events
(``/hospitalist/stream``, fed by the API's tail of ``alerts.hospitalist``), acknowledge one
(CSRF-checked form), open a member's recent encounters, log out (CSRF-checked; the session is
kept as revoked in admissions' ``revoked_sessions`` until it would have expired). Every alert
shown is an audited read; acknowledging is an audited write. The layout (``kit/base.html``,
``kit/login.html``, ``kit/error.html``) and ``kit.css`` are the kit's; ``hospitalist.css`` holds
only the alert table's marks and the live indicator.
"""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from shared.users import User, UserDirectory
from shared.web.kit import KIT, PageKit, RevokedSessions, Site, page_templates
from shared.web.login import LoginWords, install_api_key_login
from shared.web.sessions import PageSession, SessionSigner

from ..app.alert_feed import AlertFeed
from ..app.queries import NotFound, Reads
from ..app.scope import scope_of
from ..settings import AdmissionsSettings
from .sse import alert_stream

HERE = Path(__file__).resolve().parent
PREFIX = "/hospitalist"
SESSION_COOKIE = "ccp_hsession"
LOGIN_COOKIE = "ccp_hlogin"
ROLES = ("hospitalist", "admin")
SITE = Site("Hospitalist alerts", PREFIX, home_label="Back to the alerts", login_path=f"{PREFIX}/login",
            logout_path=f"{PREFIX}/logout", static=f"{PREFIX}/static")
WORDS = LoginWords()
FieldIn = Annotated[str | None, Form(max_length=2000)]
MESSAGES = {"acknowledged": "Alert acknowledged."}
KIND = {"inpatient_admit": "Admitted", "ed_visit": "ED visit"}
# /hospitalist/static/{name}: the page's own files and the kit's style sheet
STATIC = {"hospitalist.css": (HERE / "static" / "hospitalist.css", "text/css"),
          "alerts.js": (HERE / "static" / "alerts.js", "text/javascript"),
          "kit.css": (KIT / "static" / "kit.css", "text/css")}


def page_context(_request: Request) -> dict:
    return {"kinds": KIND, "prefix": PREFIX}


def hospitalist_kit(settings: AdmissionsSettings, directory: UserDirectory, revocations: RevokedSessions) -> PageKit:
    templates = page_templates(HERE / "templates", context=[page_context])
    templates.env.filters["when"] = lambda d: d.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if d else ""
    signer = SessionSigner(settings.session_key(), int(settings.session_hours * 3600), purpose="hospitalist")
    return PageKit(site=SITE, templates=templates, secure=settings.is_production(), signer=signer,
                   directory=directory, session_cookie=SESSION_COOKIE, login_cookie=LOGIN_COOKIE,
                   revocations=revocations, cookie_path=PREFIX)


def admit(user: User) -> str | None:
    return None if user.has(*ROLES) else "This page is for hospitalists."


def hospitalist_router(settings: AdmissionsSettings, reads: Reads, directory: UserDirectory, feed: AlertFeed,
                       revocations: RevokedSessions) -> APIRouter:
    kit = hospitalist_kit(settings, directory, revocations)
    router = APIRouter(include_in_schema=False)
    install_api_key_login(router, kit, admit=admit, landing=PREFIX, after_logout=f"{PREFIX}/login?m=bye",
                          words=WORDS)

    def session_of(request: Request) -> PageSession | None:
        s = kit.session(request)
        return s if s is not None and s.user.has(*ROLES) else None

    def error_page(request: Request, s: PageSession, code: int, text: str) -> Response:
        return kit.render(request, "kit/error.html", {"code": code, "error": text}, session=s, status_code=code)

    @router.get(PREFIX)
    def alerts_page(request: Request, m: str | None = None) -> Response:
        s = session_of(request)
        if s is None:
            return kit.to_login()
        rows = reads.inbox(s.user, "PAGE GET /hospitalist", status="open", limit=200)
        return kit.render(request, "hospitalist_alerts.html", {
            "alerts": rows, "groups": sorted(s.user.hospitalist_groups) or ["all"],
            "message": MESSAGES.get(m or "")}, session=s)

    @router.post(PREFIX + "/alerts/{alert_id}/acknowledge")
    def acknowledge(request: Request, alert_id: str, csrf_token: FieldIn = None) -> Response:
        s = session_of(request)
        if s is None:
            return kit.to_login()
        if not kit.csrf_ok(s, csrf_token):
            return error_page(request, s, 403, WORDS.form_expired)
        try:
            reads.acknowledge(s.user, alert_id, "PAGE POST /hospitalist/alerts/{id}/acknowledge")
        except NotFound:
            return error_page(request, s, 404, "Alert not found.")
        return RedirectResponse(f"{PREFIX}?m=acknowledged", status_code=303)

    @router.get(PREFIX + "/members/{member_id}")
    def member_page(request: Request, member_id: str) -> Response:
        s = session_of(request)
        if s is None:
            return kit.to_login(f"{PREFIX}/members/{quote(member_id, safe='')}")
        try:
            encounters = reads.member_encounters(s.user, member_id, "PAGE GET /hospitalist/members/{id}")[:20]
        except NotFound:
            return error_page(request, s, 404, "Member not found in your groups.")
        return kit.render(request, "hospitalist_member.html", {"member_id": member_id, "encounters": encounters},
                          session=s)

    @router.get(PREFIX + "/stream")
    async def stream(request: Request) -> Response:
        s = await run_in_threadpool(session_of, request)  # the revocation check reads the database
        if s is None:
            return Response(status_code=401)
        scope = scope_of(s.user)
        sub = feed.subscribe(lambda a: scope.everything or a.hospitalist_group in scope.groups)
        return alert_stream(feed, sub, settings.sse_keepalive_s,
                            lambda member_id: reads.alert_sent(s.user, member_id, "PAGE GET /hospitalist/stream"))

    @router.get(PREFIX + "/static/{name}")
    def static(name: str) -> Response:
        found = STATIC.get(name)
        if found is None:
            return Response(status_code=404)
        path, media = found
        return FileResponse(path, media_type=media, headers={"Cache-Control": "max-age=300"})

    return router
