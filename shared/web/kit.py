"""What every server-rendered page needs, in one place: the templates (the service's own over the
kit's layout), the static files (the service's over the kit's), the session behind a request
(signed cookie, not revoked), rendering with the caller's CSRF token, cookies, the security
headers, and where to send a browser without a session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from shared.users import UserDirectory

from .sessions import PageSession, SessionSigner

KIT = Path(__file__).resolve().parent
KIT_TEMPLATES = KIT / "templates"
# img-src data: for the charts' canvases; form-action 'self' keeps every form on the platform
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
       "form-action 'self'{form_action}; base-uri 'none'")
NOT_PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/metrics", "/healthz")


@dataclass(frozen=True)
class Site:
    """What the kit's layout shows around a page: the product name, where its brand link goes,
    its login and logout paths and the words for them ("Log in" or "Sign in")."""

    name: str
    home: str
    home_label: str = "Back to the start"
    login_path: str = "/login"
    logout_path: str = "/logout"
    log_in: str = "Log in"
    log_out: str = "Log out"
    static: str = "/static"


class RevokedSessions(Protocol):
    """Where a page keeps the sessions ended by logging out (until they would have expired)."""

    def revoked(self, session_id: str) -> bool: ...

    def revoke(self, session_id: str, expires_at: datetime, now: datetime) -> None: ...


def page_templates(own: Path | None, *, context: Sequence[Callable[[Request], dict[str, Any]]] = (),
                   ) -> Jinja2Templates:
    """The service's templates first, then the kit's (``kit/base.html``, ``kit/login.html``,
    ``kit/error.html``, ``kit/risk_view.html``)."""
    dirs = [str(own)] if own else []
    return Jinja2Templates(directory=[*dirs, str(KIT_TEMPLATES)], context_processors=list(context))


def static_files(own: Path | None = None) -> StaticFiles:
    """``/static``: the service's files first, then the kit's (``kit.css``)."""
    return StaticFiles(directory=own, packages=[("shared.web", "static")])


def install_page_headers(app: FastAPI, *, form_action: str = "", skip_prefixes: Iterable[str] = (),
                         skip: Iterable[str] = NOT_PAGES) -> None:
    """Every answer but the API documentation (and ``skip_prefixes``) gets the page's
    Content-Security-Policy (scripts, styles and images from the platform only, no framing,
    forms only to the platform and ``form_action``), nosniff, a same-origin referrer and no
    framing for older browsers."""
    csp = CSP.format(form_action=f" {form_action}" if form_action else "")
    skip, prefixes = frozenset(skip), tuple(skip_prefixes)

    @app.middleware("http")
    async def page_headers(request: Request, call_next):
        response = await call_next(request)
        path = request.url.path
        if path not in skip and not (prefixes and path.startswith(prefixes)):
            response.headers.setdefault("Content-Security-Policy", csp)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def safe_next(target: str | None, default: str) -> str:
    """A local path to go on to after login (never another site: ``//host`` or ``/\\host``)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and len(target) <= 200:
        return target
    return default


class PageKit:
    """One page app's session, rendering and cookies (built once by the service's ``api.py``)."""

    def __init__(self, *, site: Site, templates: Jinja2Templates, secure: bool, signer: SessionSigner | None = None,
                 directory: UserDirectory | None = None, session_cookie: str = "", login_cookie: str = "",
                 revocations: RevokedSessions | None = None, cookie_path: str = "/",
                 samesite: str = "strict") -> None:
        """Staff pages sign in with an API key (``signer``, ``directory``, the cookies' names,
        where logouts are kept); a page with sessions of its own (the portal's members) passes
        none of these and uses the rendering, cookies and layout."""
        self.site = site
        self.templates = templates
        self.signer = signer
        self.directory = directory
        self.secure = secure
        self.session_cookie = session_cookie
        self.login_cookie = login_cookie
        self.revocations = revocations
        self.cookie_path = cookie_path
        self.samesite = samesite
        templates.env.globals["site"] = site

    # ------------------------------------------------------------------ sessions
    def session(self, request: Request) -> PageSession | None:
        """The signed-in session behind the request: signed by us, for a known user whose keys
        did not change, not expired and not ended by logging out."""
        assert self.signer is not None and self.directory is not None, "a page without API-key sessions"
        session = self.signer.verify(request.cookies.get(self.session_cookie), self.directory)
        if session is None:
            return None
        if self.revocations is not None and self.revocations.revoked(session.session_id):
            return None
        return session

    def end(self, session: PageSession) -> None:
        if self.revocations is not None:
            self.revocations.revoke(session.session_id, datetime.fromtimestamp(session.expires_at, timezone.utc),
                                      datetime.now(timezone.utc))

    def csrf_ok(self, session: PageSession, token: str | None) -> bool:
        return self.signer is not None and self.signer.csrf_ok(session.session_id, token)

    # ------------------------------------------------------------------ answers
    def render(self, request: Request, name: str, context: dict[str, Any], *, session: PageSession | None = None,
               status_code: int = 200) -> HTMLResponse:
        base = {"user": session.user if session else None,
                "csrf": self.signer.csrf_token(session.session_id) if session and self.signer else None}
        response = self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        return response

    def to_login(self, next_path: str | None = None) -> RedirectResponse:
        where = self.site.login_path + (f"?next={quote(next_path, safe='/')}" if next_path else "")
        return RedirectResponse(where, status_code=303)

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path=self.cookie_path, httponly=True,
                            samesite=self.samesite, secure=self.secure)  # type: ignore[arg-type]

    def delete_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path=self.cookie_path)


__all__ = ["CSP", "KIT_TEMPLATES", "PageKit", "RevokedSessions", "Site", "install_page_headers", "page_templates",
           "safe_next", "static_files"]
