"""The risk API: a member's risk view (JSON and an HTML fragment for the nurse's page), the
extended-hours evidence (JSON, CSV, and an ops page with charts), practice hours.

It imports no faust: the worker's wiring lives in ``worker.py``.
"""


import json
import time
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.audit import record_access
from shared.auth import User, authenticator, load_directory, require_roles
from shared.http import install_error_handlers, ops_router

from .adapters import tables
from .adapters.reference import load_avoidable_list, load_practice_hours
from .adapters.repository import SqlRiskRepository
from .adapters.wiring import build_context, database
from .app.ed_report import EdEvidence, ed_evidence
from .app.rescore import explain_member
from .settings import RiskSettings
from .web.evidence_csv import evidence_csv
from .web.sessions import LOGIN_COOKIE, SESSION_COOKIE, SessionSigner

WEB = Path(__file__).parent / "web"
CARE_ROLES = ("nurse", "care_navigator", "social_worker", "dietician", "supervisor", "admin", "hospitalist")
OPS_ROLES = ("supervisor", "ops", "admin")
EVIDENCE_CACHE_S = 30.0
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                               "base-uri 'none'; frame-ancestors 'none'",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def create_api(settings: RiskSettings) -> FastAPI:
    db = database(settings)
    ctx = build_context(settings)
    directory = load_directory(settings.users_file, settings.environment)
    current_user = authenticator(directory)
    care_user = require_roles(current_user, *CARE_ROLES)
    ops_user = require_roles(current_user, *OPS_ROLES)
    hours = load_practice_hours(settings.hours_file)
    avoidable = load_avoidable_list()
    signer = SessionSigner(settings.session_key, int(settings.session_hours * 3600))
    templates = Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape(["html"]))
    cache: dict[str, tuple[float, EdEvidence]] = {}

    app = FastAPI(title="risk", version="1", description=__doc__)
    install_error_handlers(app)
    app.include_router(ops_router("risk", "api", lambda: {"database": db.ping()}))
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    def ops_reader(request: Request) -> User:
        """The ops page's session (its CSV/JSON links) or an API key with an ops role."""
        session = signer.verify(request.cookies.get(SESSION_COOKIE), directory)
        if session is not None and session.user.has(*OPS_ROLES):
            return session.user
        return ops_user(current_user(request))

    CareUser = Annotated[User, Depends(care_user)]
    OpsUser = Annotated[User, Depends(ops_reader)]

    def view_of(member_id: str, user: User, endpoint: str) -> dict:
        with db.transaction() as session:
            view = explain_member(SqlRiskRepository(session), member_id, ctx)
            record_access(session, tables.audit, user_id=user.id, role=user.primary_role, member_ids=[member_id],
                          action="read", endpoint=endpoint, detail="risk view" if view else "risk view: not found")
        if view is None:
            raise HTTPException(404, "no risk assessment for this member (not on the roster)")
        return view

    @app.get("/members/{member_id}/risk", summary="A member's risk score, HCCs, utilization and tier, explained")
    def member_risk(member_id: str, user: CareUser) -> JSONResponse:
        return JSONResponse(view_of(member_id[:64], user, "/members/{id}/risk"))

    @app.get("/members/{member_id}/risk/fragment", response_class=HTMLResponse,
             summary="The risk view as an HTML fragment for the nurse's task page")
    def member_risk_fragment(member_id: str, user: CareUser) -> HTMLResponse:
        v = view_of(member_id[:64], user, "/members/{id}/risk/fragment")
        return HTMLResponse(templates.get_template("risk_fragment.html").render(v=v), headers=SECURITY_HEADERS)

    @app.get("/practices/hours", summary="Each practice's opening hours, holidays and program start")
    def practice_hours(user: OpsUser) -> JSONResponse:
        return JSONResponse({pid: h.to_dict() for pid, h in sorted(hours.items())})

    def evidence(start: date | None, end: date | None) -> EdEvidence:
        key = f"{start}|{end}"
        hit = cache.get(key)
        if hit and time.monotonic() - hit[0] < EVIDENCE_CACHE_S:
            return hit[1]
        with db.transaction() as session:
            report = ed_evidence(SqlRiskRepository(session), hours, avoidable, start=start, end=end)
        cache[key] = (time.monotonic(), report)
        return report

    def check_range(start: date | None, end: date | None) -> None:
        if start and end and end < start:
            raise HTTPException(422, "'to' is before 'from'")

    @app.get("/ed-evidence", summary="ED visits by practice and month: closed/open hours, avoidable, before/after")
    def ed_evidence_json(user: OpsUser, start: Annotated[date | None, Query(alias="from")] = None,
                         end: Annotated[date | None, Query(alias="to")] = None) -> JSONResponse:
        check_range(start, end)
        r = evidence(start, end)
        return JSONResponse({
            "avoidable_list": {"source": avoidable.source, "version": avoidable.version},
            "rows": [row.to_dict() for row in r.rows], "before_after": r.summary,
            "program_starts": {pid: h.program_start.isoformat() for pid, h in hours.items() if h.program_start},
            "visits_left_out_not_attributed": r.not_attributed, "practices_without_hours": r.practices_without_hours,
        })

    @app.get("/ed-evidence.csv", summary="The same evidence as CSV (one line per practice, month, period)")
    def ed_evidence_csv(user: OpsUser, start: Annotated[date | None, Query(alias="from")] = None,
                        end: Annotated[date | None, Query(alias="to")] = None) -> Response:
        check_range(start, end)
        return Response(evidence_csv(evidence(start, end).rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="ed-evidence.csv"'})

    # ------------------------------------------------------------------ the ops page
    def page_user(request: Request):
        s = signer.verify(request.cookies.get(SESSION_COOKIE), directory)
        return s if s and s.user.has(*OPS_ROLES) else None

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/ops/extended-hours") -> HTMLResponse:
        nonce = signer.nonce()
        page = templates.get_template("login.html").render(nonce=nonce, next=_safe_next(next), error=None)
        resp = HTMLResponse(page, headers=SECURITY_HEADERS)
        resp.set_cookie(LOGIN_COOKIE, nonce, max_age=600, httponly=True, samesite="strict",
                        secure=settings.is_production())
        return resp

    @app.post("/login", include_in_schema=False)
    def login(request: Request, api_key: Annotated[str, Form(max_length=200)],
              nonce: Annotated[str, Form(max_length=100)], next: Annotated[str, Form(max_length=200)] = "/") -> Response:
        cookie_nonce = request.cookies.get(LOGIN_COOKIE) or ""
        user = directory.authenticate(api_key)
        if not cookie_nonce or cookie_nonce != nonce:
            return _login_again(templates, signer, settings, "The form expired; please sign in again.", 403)
        if user is None or not user.has(*OPS_ROLES):
            return _login_again(templates, signer, settings,
                                "Unknown key, or this page is for supervisors and operations.", 401)
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(SESSION_COOKIE, signer.issue(user), max_age=int(settings.session_hours * 3600), httponly=True,
                        samesite="strict", secure=settings.is_production())
        resp.delete_cookie(LOGIN_COOKIE)
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form(max_length=100)]) -> Response:
        s = signer.verify(request.cookies.get(SESSION_COOKIE), directory)
        if s is None or not signer.csrf_ok(s.session_id, csrf):
            raise HTTPException(403, "missing or wrong form token")
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.get("/ops/extended-hours", response_class=HTMLResponse, include_in_schema=False)
    def extended_hours_page(request: Request) -> Response:
        s = page_user(request)
        if s is None:
            return RedirectResponse("/login?next=/ops/extended-hours", status_code=303)
        r = evidence(None, None)
        starts = {pid: h.program_start.isoformat() for pid, h in hours.items() if h.program_start}
        rows_json = json.dumps({"rows": [row.to_dict() for row in r.rows], "starts": starts}).replace("</", "<\\/")
        page = templates.get_template("extended_hours.html").render(
            user=s.user, csrf=signer.csrf_token(s.session_id), summary=r.summary, starts=starts,
            source=avoidable.source, rows_json=rows_json, missing=r.practices_without_hours, left_out=r.not_attributed)
        return HTMLResponse(page, headers=SECURITY_HEADERS)

    return app


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/ops/extended-hours"


def _login_again(templates, signer: SessionSigner, settings: RiskSettings, error: str, status: int) -> HTMLResponse:
    nonce = signer.nonce()
    resp = HTMLResponse(templates.get_template("login.html").render(nonce=nonce, next="/ops/extended-hours",
                                                                    error=error),
                        status_code=status, headers=SECURITY_HEADERS)
    resp.set_cookie(LOGIN_COOKIE, nonce, max_age=600, httponly=True, samesite="strict",
                    secure=settings.is_production())
    return resp
