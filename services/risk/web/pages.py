"""The risk API's pages, on the platform's web kit (``shared.web``): sign in with the API key
(supervisors, operations, admins), the extended-hours ops page with its charts, sign out (the
session revoked). The member's risk view fragment is rendered with the kit's
``kit/risk_view.html``, as the nurse's task page renders it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from shared.db import Database
from shared.users import User, UserDirectory
from shared.web.kit import PageKit, Site, page_templates
from shared.web.login import install_api_key_login
from shared.web.revocations import SqlRevokedSessions
from shared.web.sessions import SessionSigner

from ..app.ed_report import EdEvidence
from ..settings import RiskSettings

HERE = Path(__file__).resolve().parent
OPS_ROLES = ("supervisor", "ops", "admin")
SESSION_COOKIE = "ccp_risk_session"
LOGIN_COOKIE = "ccp_risk_login"
PAGE = "/ops/extended-hours"
SITE = Site("Risk", PAGE, home_label="Back to the extended-hours evidence", log_in="Sign in", log_out="Sign out")


def page_kit(settings: RiskSettings, directory: UserDirectory, db: Database, revoked_table) -> PageKit:
    signer = SessionSigner(settings.session_key, int(settings.session_hours * 3600), purpose="risk")
    return PageKit(site=SITE, templates=page_templates(HERE / "templates"), secure=settings.is_production(),
                   signer=signer, directory=directory, session_cookie=SESSION_COOKIE, login_cookie=LOGIN_COOKIE,
                   revocations=SqlRevokedSessions(db, revoked_table))


def ops_session_user(kit: PageKit, request: Request) -> User | None:
    """The signed-in ops user behind the page's links (CSV, JSON), or None."""
    s = kit.session(request)
    return s.user if s is not None and s.user.has(*OPS_ROLES) else None


def risk_fragment(kit: PageKit, view: dict) -> str:
    return kit.templates.get_template("risk_fragment.html").render(v=view)


def install_pages(app: FastAPI, kit: PageKit, *, evidence: Callable[[], EdEvidence], starts: dict[str, str],
                  source: str) -> None:
    install_api_key_login(
        app.router, kit, landing=PAGE, after_logout=kit.site.login_path,
        admit=lambda u: None if u.has(*OPS_ROLES) else "This page is for supervisors and operations.")

    @app.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
    def extended_hours_page(request: Request) -> Response:
        s = kit.session(request)
        if s is None or not s.user.has(*OPS_ROLES):
            return kit.to_login(PAGE)
        r = evidence()
        rows_json = json.dumps({"rows": [row.to_dict() for row in r.rows], "starts": starts}).replace("</", "<\\/")
        return kit.render(request, "extended_hours.html", {
            "summary": r.summary, "starts": starts, "source": source, "rows_json": rows_json,
            "missing": r.practices_without_hours, "left_out": r.not_attributed}, session=s)
