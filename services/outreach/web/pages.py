"""The nurse page: server-rendered Jinja2 templates and plain HTML forms (no front-end build).

Log in with the API key (a signed ``ccp_session`` cookie, HttpOnly, SameSite=Strict), see the
queue sorted by priority with due dates and overdue marks, open a task (why it exists, the
priority explanation, open gaps, recent encounters, history), claim, record an attempt,
schedule, complete, claim next, log out. Supervisors get their pods' overview instead
(``supervisor_pages.py``) and reassign or cancel from the task page. Every form carries a CSRF
token; every change goes through the same commands as the JSON API (audited, emitted to
``outreach.tasks``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from shared.users import User
from shared.web.kit import PageKit, Site, install_page_headers, page_templates
from shared.web.login import install_api_key_login

from ..app.actors import TaskNotFound
from ..domain import OutreachError
from ..domain.model import ATTEMPT_OUTCOMES, CHANNELS
from .page_kit import (
    LOGIN_COOKIE, MESSAGES, SESSION_COOKIE, Field, RevokedInDatabase, base_context, choice, error_page, explain,
    int_field, local, page_actor, page_endpoint, parse_date, render, services_of, status_of, task_view, to_login,
    uuid_of,
)
from .supervisor_pages import install_supervisor_pages

HERE = Path(__file__).resolve().parent
SUPERVISING = ("supervisor", "admin")
SITE = Site("Outreach", "/queue", home_label="Back to my queue")


def install_pages(app: FastAPI) -> None:  # noqa: C901 - the page's routes in one place
    svc = app.state.outreach
    tz = svc.queries.ctx.tz
    templates = page_templates(HERE / "templates", context=[base_context])
    templates.env.filters["local"] = lambda moment: local(moment, tz)
    kit = PageKit(site=SITE, templates=templates, signer=svc.signer, directory=svc.directory,
                  secure=svc.settings.cookie_secure(), session_cookie=SESSION_COOKIE, login_cookie=LOGIN_COOKIE,
                  revocations=RevokedInDatabase(svc.uow))
    app.state.outreach_pages = kit
    install_page_headers(app, skip_prefixes=("/api/",))

    def admit(user: User) -> str | None:
        staff = svc.staff.of(user)
        return None if staff is not None and staff.access != "ops" else "This page is for outreach staff."

    install_api_key_login(app.router, kit, admit=admit, landing="/queue", after_logout="/login?m=bye")

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse("/queue" if page_actor(request) else "/login", status_code=303)

    @app.get("/queue", include_in_schema=False)
    def queue_page(request: Request, m: str | None = None) -> Response:
        found = page_actor(request)
        if found is None:
            return to_login()
        actor, session = found
        if actor.staff.access in SUPERVISING:
            return RedirectResponse("/supervisor" + (f"?m={m}" if m in MESSAGES else ""), status_code=303)
        held, waiting = services_of(request).queries.my_queue(actor, page_endpoint(request))
        return render(request, "queue.html", {"held": held, "waiting": waiting, "message": MESSAGES.get(m or ""),
                                              "queues": sorted(actor.staff.queues())}, session=session)

    @app.post("/queue/claim-next", include_in_schema=False)
    def claim_next_page(request: Request, csrf_token: Field = None) -> Response:
        found = page_actor(request)
        if found is None:
            return to_login()
        actor, session = found
        if not services_of(request).signer.csrf_ok(session.session_id, csrf_token):
            return error_page(request, session, 403, "Your form expired. Please reload the page and try again.")
        try:
            task = services_of(request).commands.claim_next(actor, None, page_endpoint(request))
        except OutreachError as exc:
            return error_page(request, session, status_of(exc), explain(exc))
        if task is None:
            return RedirectResponse("/queue?m=empty", status_code=303)
        return RedirectResponse(f"/tasks/{task.task_id}?m=claimed", status_code=303)

    @app.get("/tasks/{task_id}", include_in_schema=False)
    def task_page(request: Request, task_id: str, m: str | None = None) -> Response:
        found = page_actor(request)
        if found is None:
            return to_login()
        actor, session = found
        return task_view(request, actor, session, task_id, message=MESSAGES.get(m or ""))

    @app.post("/tasks/{task_id}/{command}", include_in_schema=False)
    def task_command(request: Request, task_id: str, command: str, csrf_token: Field = None,
                     expected_version: Field = None, channel: Field = None, outcome: Field = None,
                     note: Field = None, appointment_date: Field = None, assignee: Field = None,
                     reason: Field = None, body: Field = None) -> Response:
        found = page_actor(request)
        if found is None:
            return to_login()
        actor, session = found
        svc = services_of(request)
        if not svc.signer.csrf_ok(session.session_id, csrf_token):
            return error_page(request, session, 403, "Your form expired. Please reload the page and try again.")
        endpoint = page_endpoint(request)
        try:
            tid = uuid_of(task_id)
            version = int_field(expected_version, "expected_version")
            c = svc.commands
            if command == "claim":
                c.claim(actor, tid, version, endpoint)
                done = "claimed"
            elif command == "release":
                c.release(actor, tid, version, note, endpoint)
                done = "released"
            elif command == "attempt":
                c.record_attempt(actor, tid, version, choice(channel, CHANNELS, "channel"),
                                 choice(outcome, ATTEMPT_OUTCOMES, "outcome"), note, endpoint)
                done = "attempt"
            elif command == "schedule":
                c.schedule(actor, tid, version, parse_date(appointment_date, "appointment_date"), note, endpoint)
                done = "scheduled"
            elif command == "complete":
                c.complete(actor, tid, version, outcome or "", note, endpoint)
                return RedirectResponse("/queue?m=completed", status_code=303)
            elif command == "reassign":
                c.reassign(actor, tid, version, assignee or None, False, note, endpoint)
                done = "reassigned"
            elif command == "cancel":
                c.cancel(actor, tid, version, reason or "", endpoint)
                done = "cancelled"
            elif command == "reply":
                c.reply_in_portal(actor, tid, version, body, endpoint)
                done = "replied"
            else:
                raise TaskNotFound()
        except OutreachError as exc:
            return task_view(request, actor, session, task_id, error=explain(exc), status_code=status_of(exc))
        return RedirectResponse(f"/tasks/{tid}?m={done}", status_code=303)

    install_supervisor_pages(app)


