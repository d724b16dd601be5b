"""What every request handler needs: the portal's parts, the signed-in member, cookies, rendering."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shared.db import Database

from ..adapters.directory import FileDirectory
from ..adapters.oidc import OidcClient
from ..adapters.repositories import SqlUnitOfWork
from ..app.ports import Publisher
from ..app.sessions import SessionPolicy, resume
from ..domain.access import Principal
from ..settings import PortalSettings

SESSION_COOKIE = "ccp_portal_session"
SIGNIN_COOKIE = "ccp_portal_signin"
OIDC_COOKIE = "ccp_portal_oidc"
FormField = Annotated[str | None, Form()]


@dataclass
class Portal:
    settings: PortalSettings
    db: Database
    directory: FileDirectory
    publisher: Publisher | None
    oidc: OidcClient | None
    policy: SessionPolicy
    now: Callable[[], datetime]
    templates: Jinja2Templates | None = None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.db)

    def today(self) -> date:
        return self.now().astimezone(self.settings.tz).date()


@dataclass(frozen=True)
class Signed:
    principal: Principal
    csrf: str


def portal_of(request: Request) -> Portal:
    return request.app.state.portal


def signed_in(request: Request) -> Signed | None:
    portal = portal_of(request)
    found = resume(portal.uow(), request.cookies.get(SESSION_COOKIE), portal.now(), portal.policy)
    return Signed(*found) if found else None


def csrf_ok(signed: Signed, token: str | None) -> bool:
    return bool(token) and secrets.compare_digest(signed.csrf, token or "")


def endpoint_of(request: Request, prefix: str = "PAGE") -> str:
    route = request.scope.get("route")
    return f"{prefix} {request.method} {getattr(route, 'path', request.url.path)}"[:200]


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    # Lax, not Strict: the OpenID provider sends the member back with a cross-site redirect, and
    # the session must be sent on the page that follows. Every form carries a CSRF token.
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=portal_of(request).settings.cookie_secure())


def render(request: Request, name: str, context: dict[str, Any], *, signed: Signed | None = None,
           status_code: int = 200) -> HTMLResponse:
    portal = portal_of(request)
    base = {"signed": signed, "csrf": signed.csrf if signed else None, "today": portal.today()}
    assert portal.templates is not None
    response = portal.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def to_signin(message: str | None = None) -> RedirectResponse:
    return RedirectResponse("/signin" + (f"?m={message}" if message else ""), status_code=303)
