"""The nurse page: server-rendered Jinja2 templates and plain HTML forms (no front-end build).

Log in with the API key (a signed ``ccp_session`` cookie, HttpOnly, SameSite=Strict), see the
queue sorted by priority with due dates and overdue marks, open a task (why it exists, the
priority explanation, open gaps, recent encounters, history), claim, record an attempt,
schedule, complete, claim next, log out. Every form carries a CSRF token; every change goes
through the same commands as the JSON API (audited, emitted to ``outreach.tasks``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import delete, select

from shared.db import insert_ignore

from . import store
from .actors import Actor, TaskNotFound, http_status
from .domain import IllegalTransition, InvalidCommand, OutreachError, PermissionDenied, VersionConflict
from .domain.model import ATTEMPT_OUTCOMES, CHANNELS
from .sessions import LOGIN_COOKIE, SESSION_COOKIE, PageSession

HERE = Path(__file__).resolve().parent


def _local(moment: datetime, tz=None) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else ""

MESSAGES = {
    "claimed": "Task claimed. It is yours now.",
    "released": "Task returned to the queue.",
    "attempt": "Attempt recorded.",
    "scheduled": "Appointment scheduled.",
    "completed": "Task completed.",
    "empty": "Nothing to claim: no open task is waiting in your queues.",
    "bye": "You are logged out.",
}
CHANNEL_LABELS = {"phone": "Phone call", "text": "Text message", "letter": "Letter", "portal": "Portal message"}
OUTCOME_LABELS = {"reached": "Reached the member", "left_message": "Left a message", "no_answer": "No answer",
                  "wrong_number": "Wrong number", "declined": "Member declined"}
STATUS_LABELS = {"open": "Open", "claimed": "Claimed", "in_progress": "In progress", "scheduled": "Scheduled",
                 "done": "Done", "unable_to_reach": "Unable to reach", "cancelled": "Cancelled"}
Field = Annotated[str | None, Form()]


def _svc(request: Request):
    return request.app.state.outreach


def _page_session(request: Request) -> PageSession | None:
    svc = _svc(request)
    session = svc.signer.verify(request.cookies.get(SESSION_COOKIE), svc.directory)
    if session is None:
        return None
    r = store.revoked_sessions
    with svc.db.transaction() as s:
        if s.execute(select(r.c.session_id).where(r.c.session_id == session.session_id)).first():
            return None
    return session


def _actor(request: Request) -> tuple[Actor, PageSession] | None:
    session = _page_session(request)
    if session is None:
        return None
    staff = _svc(request).staff.of(session.user)
    return (Actor(session.user, staff), session) if staff is not None else None


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
            session: PageSession | None = None) -> HTMLResponse:
    svc = _svc(request)
    base = {"user": session.user if session else None,
            "csrf": svc.signer.csrf_token(session.session_id) if session else None,
            "status_labels": STATUS_LABELS, "channel_labels": CHANNEL_LABELS, "outcome_labels": OUTCOME_LABELS,
            "today": svc.queries.today()}
    response = request.app.state.outreach_templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _page_endpoint(request: Request) -> str:
    route = request.scope.get("route")
    return f"PAGE {request.method} {getattr(route, 'path', request.url.path)}"[:200]


def install_pages(app: FastAPI) -> None:  # noqa: C901 - the page's routes in one place
    tz = app.state.outreach.queries.ctx.tz
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["local"] = lambda moment: _local(moment, tz)
    app.state.outreach_templates = templates

    @app.middleware("http")
    async def page_headers(request: Request, call_next):
        response = await call_next(request)
        path = request.url.path
        if not (path.startswith("/api/") or path in ("/docs", "/redoc", "/openapi.json", "/metrics", "/healthz")):
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse("/queue" if _actor(request) else "/login", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, m: str | None = None) -> Response:
        nonce = _svc(request).signer.login_nonce()
        response = _render(request, "login.html", {"login_token": nonce, "message": MESSAGES.get(m or "")})
        _set_cookie(request, response, LOGIN_COOKIE, nonce, max_age=1800)
        return response

    @app.post("/login", include_in_schema=False)
    def login(request: Request, api_key: Field = None, login_token: Field = None) -> Response:
        svc = _svc(request)

        def refuse(text: str, code: int) -> Response:
            nonce = svc.signer.login_nonce()
            response = _render(request, "login.html", {"login_token": nonce, "error": text}, status_code=code)
            _set_cookie(request, response, LOGIN_COOKIE, nonce, max_age=1800)
            return response

        if not svc.signer.login_ok(request.cookies.get(LOGIN_COOKIE), login_token):
            return refuse("Your login form expired. Please try again.", 403)
        user = svc.directory.authenticate((api_key or "").strip())
        if user is None:
            return refuse("That key is not valid.", 401)
        staff = svc.staff.of(user)
        if staff is None or staff.access == "ops":
            return refuse("This page is for outreach staff.", 403)
        cookie, _session = svc.signer.issue(user)
        response = RedirectResponse("/queue", status_code=303)
        _set_cookie(request, response, SESSION_COOKIE, cookie, max_age=svc.signer.ttl)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf_token: Field = None) -> Response:
        svc = _svc(request)
        session = _page_session(request)
        if session is not None and svc.signer.csrf_ok(session.session_id, csrf_token):
            r = store.revoked_sessions
            now = datetime.now(timezone.utc)
            with svc.db.transaction() as s:
                insert_ignore(s, r, [{"session_id": session.session_id,
                                      "expires_at": datetime.fromtimestamp(session.expires_at, timezone.utc)}])
                s.execute(delete(r).where(r.c.expires_at < now - timedelta(days=1)))
        response = RedirectResponse("/login?m=bye", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/queue", include_in_schema=False)
    def queue_page(request: Request, m: str | None = None) -> Response:
        found = _actor(request)
        if found is None:
            return _to_login()
        actor, session = found
        held, waiting = _svc(request).queries.my_queue(actor, _page_endpoint(request))
        return _render(request, "queue.html", {"held": held, "waiting": waiting, "message": MESSAGES.get(m or ""),
                                               "queues": sorted(actor.staff.queues())}, session=session)

    @app.post("/queue/claim-next", include_in_schema=False)
    def claim_next_page(request: Request, csrf_token: Field = None) -> Response:
        found = _actor(request)
        if found is None:
            return _to_login()
        actor, session = found
        if not _svc(request).signer.csrf_ok(session.session_id, csrf_token):
            return _error(request, session, 403, "Your form expired. Please reload the page and try again.")
        try:
            task = _svc(request).commands.claim_next(actor, None, _page_endpoint(request))
        except OutreachError as exc:
            return _error(request, session, _status(exc), _explain(exc))
        if task is None:
            return RedirectResponse("/queue?m=empty", status_code=303)
        return RedirectResponse(f"/tasks/{task.task_id}?m=claimed", status_code=303)

    @app.get("/tasks/{task_id}", include_in_schema=False)
    def task_page(request: Request, task_id: str, m: str | None = None) -> Response:
        found = _actor(request)
        if found is None:
            return _to_login()
        actor, session = found
        return _task_view(request, actor, session, task_id, message=MESSAGES.get(m or ""))

    @app.post("/tasks/{task_id}/{command}", include_in_schema=False)
    def task_command(request: Request, task_id: str, command: str, csrf_token: Field = None,
                     expected_version: Field = None, channel: Field = None, outcome: Field = None,
                     note: Field = None, appointment_date: Field = None) -> Response:
        found = _actor(request)
        if found is None:
            return _to_login()
        actor, session = found
        svc = _svc(request)
        if not svc.signer.csrf_ok(session.session_id, csrf_token):
            return _error(request, session, 403, "Your form expired. Please reload the page and try again.")
        endpoint = _page_endpoint(request)
        try:
            tid = _uuid(task_id)
            version = _int(expected_version, "expected_version")
            c = svc.commands
            if command == "claim":
                c.claim(actor, tid, version, endpoint)
                done = "claimed"
            elif command == "release":
                c.release(actor, tid, version, note, endpoint)
                done = "released"
            elif command == "attempt":
                c.record_attempt(actor, tid, version, _choice(channel, CHANNELS, "channel"),
                                 _choice(outcome, ATTEMPT_OUTCOMES, "outcome"), note, endpoint)
                done = "attempt"
            elif command == "schedule":
                c.schedule(actor, tid, version, _date(appointment_date, "appointment_date"), note, endpoint)
                done = "scheduled"
            elif command == "complete":
                c.complete(actor, tid, version, outcome or "", note, endpoint)
                return RedirectResponse("/queue?m=completed", status_code=303)
            else:
                raise TaskNotFound()
        except OutreachError as exc:
            return _task_view(request, actor, session, task_id, error=_explain(exc), status_code=_status(exc))
        return RedirectResponse(f"/tasks/{tid}?m={done}", status_code=303)


def _task_view(request: Request, actor: Actor, session: PageSession, task_id: str, *, message: str | None = None,
               error: str | None = None, status_code: int = 200) -> Response:
    try:
        detail = _svc(request).queries.task_detail(actor, _uuid(task_id), _page_endpoint(request))
    except OutreachError as exc:
        return _error(request, session, _status(exc), _explain(exc))
    return _render(request, "task.html", {"d": detail, "t": detail.task, "message": message, "error": error,
                                          "channels": CHANNELS, "outcomes": ATTEMPT_OUTCOMES},
                   status_code=status_code, session=session)


def _error(request: Request, session: PageSession | None, code: int, text: str) -> Response:
    return _render(request, "error.html", {"code": code, "error": text}, status_code=code, session=session)


def _status(exc: OutreachError) -> int:
    return http_status(exc)


def _explain(exc: OutreachError) -> str:
    if isinstance(exc, VersionConflict):
        return "Someone else changed this task a moment ago. The page now shows its current state; please try again."
    if isinstance(exc, IllegalTransition):
        return f"That is not possible now: {exc}."
    if isinstance(exc, TaskNotFound) or (isinstance(exc, PermissionDenied) and exc.hide):
        return "Task not found."
    if isinstance(exc, PermissionDenied):
        return f"Not allowed: {exc.reason}."
    if isinstance(exc, InvalidCommand):
        return f"Please check the form: {exc.reason}."
    return str(exc)


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=_svc(request).settings.cookie_secure())


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise TaskNotFound() from None


def _int(value: str | None, field: str) -> int:
    try:
        n = int(value or "")
    except ValueError:
        raise InvalidCommand(f"{field} must be a number", field=field) from None
    if n < 1:
        raise InvalidCommand(f"{field} must be at least 1", field=field)
    return n


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidCommand(f"choose a {field.replace('_', ' ')}", field=field)
    return value  # type: ignore[return-value]


def _date(value: str | None, field: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise InvalidCommand("enter the appointment date (YYYY-MM-DD)", field=field) from None
