"""What every page route needs: the session behind a request, rendering, error texts, form
parsing. Routes live in ``web.py`` (nurse) and ``supervisor_pages.py``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..app.actors import Actor, TaskNotFound
from ..domain import IllegalTransition, InvalidCommand, OutreachError, PermissionDenied, VersionConflict
from ..domain.model import ATTEMPT_OUTCOMES, CHANNELS
from .deps import http_status, services_of
from .sessions import SESSION_COOKIE, PageSession


def local(moment: datetime, tz=None) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


MESSAGES = {
    "claimed": "Task claimed. It is yours now.",
    "released": "Task returned to the queue.",
    "attempt": "Attempt recorded.",
    "scheduled": "Appointment scheduled.",
    "completed": "Task completed.",
    "empty": "Nothing to claim: no open task is waiting in your queues.",
    "reassigned": "Task reassigned.",
    "cancelled": "Task cancelled.",
    "bye": "You are logged out.",
    "replied": "Reply sent. The member reads it in the patient portal.",
}
CHANNEL_LABELS = {"phone": "Phone call", "text": "Text message", "letter": "Letter", "portal": "Portal message"}
OUTCOME_LABELS = {"reached": "Reached the member", "left_message": "Left a message", "no_answer": "No answer",
                  "wrong_number": "Wrong number", "declined": "Member declined"}
STATUS_LABELS = {"open": "Open", "claimed": "Claimed", "in_progress": "In progress", "scheduled": "Scheduled",
                 "done": "Done", "unable_to_reach": "Unable to reach", "cancelled": "Cancelled"}
Field = Annotated[str | None, Form()]


def page_session(request: Request) -> PageSession | None:
    svc = services_of(request)
    session = svc.signer.verify(request.cookies.get(SESSION_COOKIE), svc.directory)
    if session is None:
        return None
    with svc.uow() as uow:
        if uow.sessions.revoked(session.session_id):
            return None
    return session


def page_actor(request: Request) -> tuple[Actor, PageSession] | None:
    session = page_session(request)
    if session is None:
        return None
    staff = services_of(request).staff.of(session.user)
    return (Actor(session.user, staff), session) if staff is not None else None


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
           session: PageSession | None = None) -> HTMLResponse:
    svc = services_of(request)
    base = {"user": session.user if session else None,
            "csrf": svc.signer.csrf_token(session.session_id) if session else None,
            "status_labels": STATUS_LABELS, "channel_labels": CHANNEL_LABELS, "outcome_labels": OUTCOME_LABELS,
            "today": svc.queries.today()}
    templates = request.app.state.outreach_templates
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def page_endpoint(request: Request) -> str:
    route = request.scope.get("route")
    return f"PAGE {request.method} {getattr(route, 'path', request.url.path)}"[:200]


def task_view(request: Request, actor: Actor, session: PageSession, task_id: str, *, message: str | None = None,
              error: str | None = None, status_code: int = 200) -> Response:
    try:
        detail = services_of(request).queries.task_detail(actor, uuid_of(task_id), page_endpoint(request))
    except OutreachError as exc:
        return error_page(request, session, status_of(exc), explain(exc))
    task = detail.task
    colleagues = []
    if actor.staff.access in ("supervisor", "admin"):
        colleagues = sorted(services_of(request).staff.for_queue(task.role, task.pod), key=lambda s: s.user_id)
    return render(request, "task.html", {"d": detail, "t": task, "message": message, "error": error,
                                         "channels": CHANNELS, "outcomes": ATTEMPT_OUTCOMES,
                                         "supervising": actor.staff.access in ("supervisor", "admin"),
                                         "colleagues": colleagues},
                  status_code=status_code, session=session)


def error_page(request: Request, session: PageSession | None, code: int, text: str) -> Response:
    return render(request, "error.html", {"code": code, "error": text}, status_code=code, session=session)


def status_of(exc: OutreachError) -> int:
    return http_status(exc)


def explain(exc: OutreachError) -> str:
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


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=services_of(request).settings.cookie_secure())


def uuid_of(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise TaskNotFound() from None


def int_field(value: str | None, field: str) -> int:
    try:
        n = int(value or "")
    except ValueError:
        raise InvalidCommand(f"{field} must be a number", field=field) from None
    if n < 1:
        raise InvalidCommand(f"{field} must be at least 1", field=field)
    return n


def choice(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidCommand(f"choose a {field.replace('_', ' ')}", field=field)
    return value  # type: ignore[return-value]


def parse_date(value: str | None, field: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise InvalidCommand("enter the appointment date (YYYY-MM-DD)", field=field) from None
