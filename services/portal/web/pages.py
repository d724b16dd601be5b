"""The member's pages: the overview (appointments, what to do for your health, what the care
team will do, hospital visits, the care team) and the messages to and from the care team.

Server-rendered Jinja2 and plain HTML forms, as the nurse page; every page needs a session
(else the sign-in page), every form a CSRF token, and no route takes a member id: the member
is the signed-in one. A message id of another member answers 404, as one that does not exist.
"""

from __future__ import annotations

import secrets
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from .. import metrics
from ..app import reads
from ..app.messages import send_message
from ..domain import wording
from ..domain.errors import InvalidInput, NotFound, Unavailable
from .context import FormField, Signed, csrf_ok, endpoint_of, portal_of, render, signed_in, to_signin

NOTICES = {"sent": "Your message was sent. Your care team will answer here.",
           "duplicate": "That message was already sent."}
FORM_EXPIRED = "This form has expired. Please reload the page and try again."


def _thread_view(thread: reads.Thread, today) -> dict:
    first = thread.message
    items = [{"who": "you", "at": m.sent_at, "body": m.body} for m in [first, *thread.follow_ups]]
    items += [{"who": "team", "at": r.sent_at, "body": r.body, "author": r.author_name,
               "role": wording.role_name(r.author_role)} for r in thread.replies]
    items.sort(key=lambda i: i["at"])
    if thread.replies and max(r.sent_at for r in thread.replies) >= max(m.sent_at for m in [first, *thread.follow_ups]):
        status = "Answered"
    elif thread.task is not None and thread.task.status in ("claimed", "in_progress", "scheduled"):
        status = "Your care team is working on it"
    else:
        status = "Waiting for your care team"
    return {"id": first.message_id, "subject": first.subject, "topic": wording.TOPIC_LABELS.get(first.topic, ""),
            "items": items, "status": status,
            "last_reply": thread.replies[-1].reply_id if thread.replies else None}


def install_pages(app: FastAPI) -> None:  # noqa: C901 - the member's routes in one place
    def refuse(request: Request, signed: Signed | None, code: int, text: str) -> Response:
        return render(request, "error.html", {"code": code, "error": text}, signed=signed, status_code=code)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        signed = signed_in(request)
        if signed is None:
            return to_signin("expired" if request.cookies.get("ccp_portal_session") else None)
        portal = portal_of(request)
        today = portal.today()
        try:
            view = reads.overview(portal.uow(), portal.directory, signed.principal, endpoint_of(request), today,
                                  portal.settings.recent_days)
        except NotFound:
            return refuse(request, signed, 404, "We could not find your membership details yet. Please try again later.")
        metrics.PAGE_READS.labels("overview").inc()
        tz = portal.settings.tz
        return render(request, "home.html", {
            "v": view,
            "gaps": [(g, wording.gap_advice(g, today)) for g in view.gaps],
            "tasks": [(t, *wording.task_wording(t, today)) for t in view.tasks],
            "upcoming": [(t, wording.appointment_wording(t), wording.long_date(t.appointment_date)) for t in view.upcoming],
            "encounters": [wording.encounter_wording(e, portal.directory.facility(e.facility), tz)
                           for e in view.encounters],
            "coordinator_role": wording.role_name(view.team.coordinator_role) if view.team.coordinator_role else None,
            "today_words": wording.long_date(today),
        }, signed=signed)

    @app.get("/messages", include_in_schema=False)
    def messages_page(request: Request, m: str | None = None) -> Response:
        signed = signed_in(request)
        if signed is None:
            return to_signin("expired" if request.cookies.get("ccp_portal_session") else None)
        return _messages(request, signed, notice=NOTICES.get(m or ""))

    def _messages(request: Request, signed: Signed, *, notice: str | None = None, error: str | None = None,
                  form: dict | None = None, status_code: int = 200) -> Response:
        portal = portal_of(request)
        try:
            found = reads.threads(portal.uow(), signed.principal, endpoint_of(request))
        except NotFound:
            return refuse(request, signed, 404, "We could not find your membership details yet. Please try again later.")
        metrics.PAGE_READS.labels("messages").inc()
        today = portal.today()
        return render(request, "messages.html", {
            "threads": [_thread_view(t, today) for t in found], "topics": wording.TOPIC_LABELS,
            "form_token": secrets.token_urlsafe(18), "message": notice, "error": error, "form": form or {},
        }, signed=signed, status_code=status_code)

    @app.post("/messages", include_in_schema=False)
    def send(request: Request, csrf_token: FormField = None, form_token: FormField = None, topic: FormField = None,
             subject: FormField = None, body: FormField = None) -> Response:
        signed = signed_in(request)
        if signed is None:
            return to_signin("expired")
        if not csrf_ok(signed, csrf_token):
            metrics.DENIED.labels("csrf").inc()
            return refuse(request, signed, 403, FORM_EXPIRED)
        portal = portal_of(request)
        form = {"topic": topic, "subject": subject, "body": body}
        try:
            message, new = send_message(portal.uow(), _publisher(request), signed.principal, topic=topic,
                                        subject=subject, body=body, form_token=form_token, now=portal.now(),
                                        endpoint=endpoint_of(request))
        except InvalidInput as exc:
            return _messages(request, signed, error=exc.reason, form=form, status_code=422)
        except Unavailable as exc:
            return _messages(request, signed, error=str(exc), form=form, status_code=503)
        if new:
            metrics.MESSAGES_SENT.labels(message.topic).inc()
        return RedirectResponse(f"/messages/{message.message_id}?m={'sent' if new else 'duplicate'}", status_code=303)

    @app.get("/messages/{message_id}", include_in_schema=False)
    def thread_page(request: Request, message_id: str, m: str | None = None) -> Response:
        signed = signed_in(request)
        if signed is None:
            return to_signin("expired" if request.cookies.get("ccp_portal_session") else None)
        return _thread(request, signed, message_id, notice=NOTICES.get(m or ""))

    def _thread(request: Request, signed: Signed, message_id: str, *, notice: str | None = None,
                error: str | None = None, status_code: int = 200) -> Response:
        portal = portal_of(request)
        try:
            found = reads.thread(portal.uow(), signed.principal, _uuid(message_id), endpoint_of(request))
        except NotFound:
            metrics.DENIED.labels("not_found").inc()
            return refuse(request, signed, 404, "Message not found.")
        metrics.PAGE_READS.labels("thread").inc()
        return render(request, "thread.html", {"t": _thread_view(found, portal.today()),
                                               "form_token": secrets.token_urlsafe(18), "message": notice,
                                               "error": error}, signed=signed, status_code=status_code)

    @app.post("/messages/{message_id}/reply", include_in_schema=False)
    def follow_up(request: Request, message_id: str, csrf_token: FormField = None, form_token: FormField = None,
                  body: FormField = None) -> Response:
        signed = signed_in(request)
        if signed is None:
            return to_signin("expired")
        if not csrf_ok(signed, csrf_token):
            metrics.DENIED.labels("csrf").inc()
            return refuse(request, signed, 403, FORM_EXPIRED)
        portal = portal_of(request)
        try:
            found = reads.thread(portal.uow(), signed.principal, _uuid(message_id), endpoint_of(request))
            first = found.message
            last_reply = found.replies[-1].reply_id if found.replies else None
            message, new = send_message(portal.uow(), _publisher(request), signed.principal, topic=first.topic,
                                        subject=first.subject, body=body, form_token=form_token, now=portal.now(),
                                        endpoint=endpoint_of(request), in_reply_to=last_reply)
        except NotFound:
            metrics.DENIED.labels("not_found").inc()
            return refuse(request, signed, 404, "Message not found.")
        except InvalidInput as exc:
            return _thread(request, signed, message_id, error=exc.reason, status_code=422)
        except Unavailable as exc:
            return _thread(request, signed, message_id, error=str(exc), status_code=503)
        if new:
            metrics.MESSAGES_SENT.labels(message.topic).inc()
        return RedirectResponse(f"/messages/{first.message_id}?m={'sent' if new else 'duplicate'}", status_code=303)


def _publisher(request: Request):
    publisher = portal_of(request).publisher
    if publisher is None:  # pragma: no cover - the API always has one
        raise Unavailable("Messages cannot be sent from here right now.")
    return publisher


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("message") from None
