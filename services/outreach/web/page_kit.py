"""What every page route needs: the kit (``shared.web``: session, rendering, cookies), the actor
behind a request, error texts, form parsing. Routes live in ``pages.py`` (nurse) and
``supervisor_pages.py``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.web.kit import PageKit
from shared.web.sessions import PageSession

from ..app.actors import Actor, TaskNotFound
from ..app.ports import UnitOfWorkFactory
from ..domain import IllegalTransition, InvalidCommand, OutreachError, PermissionDenied, VersionConflict
from ..domain.model import ATTEMPT_OUTCOMES, CHANNELS
from .deps import http_status, services_of

SESSION_COOKIE = "ccp_session"
LOGIN_COOKIE = "ccp_login"


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


class RevokedInDatabase:
    """Logged-out sessions in outreach's ``revoked_sessions`` (the kit's ``RevokedSessions``)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    def revoked(self, session_id: str) -> bool:
        with self.uow() as uow:
            return uow.sessions.revoked(session_id)

    def revoke(self, session_id: str, expires_at: datetime, now: datetime) -> None:
        with self.uow() as uow:
            uow.sessions.revoke(session_id, expires_at, now)
            uow.commit()


def kit_of(request: Request) -> PageKit:
    return request.app.state.outreach_pages


def page_session(request: Request) -> PageSession | None:
    return kit_of(request).session(request)


def page_actor(request: Request) -> tuple[Actor, PageSession] | None:
    session = page_session(request)
    if session is None:
        return None
    staff = services_of(request).staff.of(session.user)
    return (Actor(session.user, staff), session) if staff is not None else None


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def base_context(request: Request) -> dict[str, Any]:
    """What every outreach template may use (the kit adds the user and the CSRF token)."""
    return {"status_labels": STATUS_LABELS, "channel_labels": CHANNEL_LABELS, "outcome_labels": OUTCOME_LABELS,
            "today": services_of(request).queries.today()}


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
           session: PageSession | None = None) -> HTMLResponse:
    return kit_of(request).render(request, name, context, session=session, status_code=status_code)


def page_endpoint(request: Request) -> str:
    route = request.scope.get("route")
    return f"PAGE {request.method} {getattr(route, 'path', request.url.path)}"[:200]


def task_view(request: Request, actor: Actor, session: PageSession, task_id: str, *, message: str | None = None,
              error: str | None = None, status_code: int = 200) -> Response:
    svc = services_of(request)
    try:
        detail = svc.queries.task_detail(actor, uuid_of(task_id), page_endpoint(request))
    except OutreachError as exc:
        return error_page(request, session, status_of(exc), explain(exc))
    risk = svc.risk.for_task(actor, detail, page_endpoint(request))  # only after her right to the task held
    task = detail.task
    colleagues = []
    if actor.staff.access in ("supervisor", "admin"):
        colleagues = sorted(services_of(request).staff.for_queue(task.role, task.pod), key=lambda s: s.user_id)
    return render(request, "task.html", {"d": detail, "t": task, "risk": risk, "message": message, "error": error,
                                         "channels": CHANNELS, "outcomes": ATTEMPT_OUTCOMES,
                                         "supervising": actor.staff.access in ("supervisor", "admin"),
                                         "colleagues": colleagues},
                  status_code=status_code, session=session)


def error_page(request: Request, session: PageSession | None, code: int, text: str) -> Response:
    return render(request, "kit/error.html", {"code": code, "error": text}, status_code=code, session=session)


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
