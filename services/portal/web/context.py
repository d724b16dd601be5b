"""What every request handler needs: the portal's parts, the signed-in member, and the web kit's
(``shared.web``) rendering and cookies. The member's sessions are the portal's own (in its
database, with an idle timeout: ``app/sessions.py``), not the staff pages' signed cookies."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.web.kit import PageKit, Site

from ..app.ports import Directory, IdentityProvider, Publisher, UnitOfWork, UnitOfWorkFactory
from ..app.sessions import SessionPolicy, resume
from ..domain.access import Principal
from ..settings import PortalSettings

SESSION_COOKIE = "ccp_portal_session"
SIGNIN_COOKIE = "ccp_portal_signin"
OIDC_COOKIE = "ccp_portal_oidc"
FormField = Annotated[str | None, Form()]


@dataclass
class Portal:
    """The API's parts, given by ``api.py`` (the adapters behind the ports of ``app/ports.py``)."""

    settings: PortalSettings
    unit_of_work: UnitOfWorkFactory
    directory: Directory
    publisher: Publisher | None
    oidc: IdentityProvider | None
    policy: SessionPolicy
    now: Callable[[], datetime]
    pages: PageKit | None = None

    def uow(self) -> UnitOfWork:
        """A unit of work of its own (one transaction) for one use case."""
        return self.unit_of_work()

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
    """The form's token is the session's (compared as UTF-8 bytes: ``compare_digest`` refuses str
    with non-ASCII characters, and a form may send any)."""
    return bool(token) and secrets.compare_digest(signed.csrf.encode(), (token or "").encode())


def endpoint_of(request: Request, prefix: str = "PAGE") -> str:
    route = request.scope.get("route")
    return f"{prefix} {request.method} {getattr(route, 'path', request.url.path)}"[:200]


SITE = Site("My care", "/", home_label="Go to your home page", login_path="/signin", logout_path="/signout",
            log_in="Sign in", log_out="Sign out")


def page_kit(templates, secure: bool) -> PageKit:
    # SameSite=Lax, not Strict: the OpenID provider sends the member back with a cross-site
    # redirect, and the session must be sent on the page that follows. Every form carries a CSRF token.
    return PageKit(site=SITE, templates=templates, secure=secure, samesite="lax")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    pages = portal_of(request).pages
    assert pages is not None
    pages.set_cookie(response, name, value, max_age)


def render(request: Request, name: str, context: dict[str, Any], *, signed: Signed | None = None,
           status_code: int = 200) -> HTMLResponse:
    portal = portal_of(request)
    assert portal.pages is not None
    base = {"signed": signed, "csrf": signed.csrf if signed else None, "today": portal.today()}
    return portal.pages.render(request, name, {**base, **context}, status_code=status_code)


def to_signin(message: str | None = None) -> RedirectResponse:
    return RedirectResponse("/signin" + (f"?m={message}" if message else ""), status_code=303)
