"""The supervisor's side of the page: her pods' depth and overdue per queue and nurse, a
queue's unfinished tasks, and (on the task page) reassign and cancel. Admins see every pod."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ..domain import OutreachError
from .page_kit import MESSAGES, error_page, explain, page_actor, page_endpoint, render, services_of, status_of, \
    to_login


def install_supervisor_pages(app: FastAPI) -> None:
    @app.get("/supervisor", include_in_schema=False)
    def overview(request: Request, m: str | None = None) -> Response:
        found = page_actor(request)
        if found is None:
            return to_login()
        actor, session = found
        try:
            view = services_of(request).queries.supervisor_view(actor)
        except OutreachError as exc:
            return error_page(request, session, status_of(exc), explain(exc))
        return render(request, "supervisor.html", {"view": view, "message": MESSAGES.get(m or "")},
                      session=session)

    @app.get("/queues/{queue}", include_in_schema=False)
    def queue_list(request: Request, queue: str) -> Response:
        found = page_actor(request)
        if found is None:
            return to_login()
        actor, session = found
        try:
            items = services_of(request).queries.queue_tasks(actor, queue, page_endpoint(request))
        except OutreachError as exc:
            return error_page(request, session, status_of(exc), explain(exc))
        return render(request, "queue_list.html", {"queue": queue, "items": items}, session=session)
