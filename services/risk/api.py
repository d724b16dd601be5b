"""The risk API: a member's risk view (JSON and an HTML fragment for the nurse's page), the
extended-hours evidence (JSON, CSV, and an ops page with charts), practice hours.

It imports no faust: the worker's wiring lives in ``worker.py``.
"""


import time
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from shared.audit import record_access
from shared.auth import User, authenticator, load_directory, require_roles
from shared.http import install_error_handlers, ops_router
from shared.web.kit import install_page_headers, static_files

from .adapters import tables
from .adapters.reference import load_avoidable_list, load_practice_hours
from .adapters.repository import SqlRiskRepository
from .adapters.wiring import build_context, database
from .app.ed_report import EdEvidence, ed_evidence
from .app.rescore import explain_member
from .settings import RiskSettings
from .web.evidence_csv import evidence_csv
from .web.pages import OPS_ROLES, install_pages, ops_session_user, page_kit, risk_fragment
from .web.readers import Reader, risk_reader

WEB = Path(__file__).parent / "web"
EVIDENCE_CACHE_S = 30.0


def create_api(settings: RiskSettings) -> FastAPI:
    db = database(settings)
    ctx = build_context(settings)
    directory = load_directory(settings.users_file, settings.environment)
    current_user = authenticator(directory)
    ops_user = require_roles(current_user, *OPS_ROLES)
    hours = load_practice_hours(settings.hours_file)
    avoidable = load_avoidable_list()
    kit = page_kit(settings, directory, db, tables.revoked_sessions)
    cache: dict[str, tuple[float, EdEvidence]] = {}

    app = FastAPI(title="risk", version="1", description=__doc__)
    install_error_handlers(app)
    install_page_headers(app)
    app.include_router(ops_router("risk", "api", lambda: {"database": db.ping()}))
    app.mount("/static", static_files(WEB / "static"), name="static")

    def ops_reader(request: Request) -> User:
        """The ops page's session (its CSV/JSON links) or an API key with an ops role."""
        return ops_session_user(kit, request) or ops_user(current_user(request))

    CareReader = Annotated[Reader, Depends(risk_reader(directory, current_user, settings.view_service_ids()))]
    OpsUser = Annotated[User, Depends(ops_reader)]

    def view_of(member_id: str, reader: Reader, endpoint: str) -> dict:
        with db.transaction() as session:
            view = explain_member(SqlRiskRepository(session), member_id, ctx)
            record_access(session, tables.audit, user_id=reader.user.id, role=reader.user.primary_role,
                          member_ids=[member_id], action="read", endpoint=endpoint,
                          detail=reader.audit_detail("risk view" if view else "risk view: not found"))
        if view is None:
            raise HTTPException(404, "no risk assessment for this member (not on the roster)")
        return view

    @app.get("/members/{member_id}/risk", summary="A member's risk score, HCCs, utilization and tier, explained")
    def member_risk(member_id: str, user: CareReader) -> JSONResponse:
        return JSONResponse(view_of(member_id[:64], user, "/members/{id}/risk"))

    @app.get("/members/{member_id}/risk/fragment", response_class=HTMLResponse,
             summary="The risk view as an HTML fragment for the nurse's task page")
    def member_risk_fragment(member_id: str, user: CareReader) -> HTMLResponse:
        v = view_of(member_id[:64], user, "/members/{id}/risk/fragment")
        return HTMLResponse(risk_fragment(kit, v))

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

    # ------------------------------------------------------------------ the ops page (web/pages.py)
    install_pages(app, kit, evidence=lambda: evidence(None, None), source=avoidable.source,
                  starts={pid: h.program_start.isoformat() for pid, h in hours.items() if h.program_start})
    return app
