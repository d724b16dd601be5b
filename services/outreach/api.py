"""The outreach API (JSON under ``/api``) and the nurse page (``/``), one FastAPI app.

``create_api(settings)`` builds it; it runs the idempotent schema step first. The JSON API
authenticates with ``Authorization: Bearer <key>`` or ``X-API-Key`` (``shared.auth`` users);
the page uses its signed session cookie (``web.py``). Errors: 401 unauthenticated, 403 not
allowed, 404 no such task *or another pod's task*, 409 the task changed (optimistic
concurrency) or the command does not fit its status, 422 bad input, 503 the change could not
be recorded (try again) — never a 500 for bad input.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import AwareDatetime
from sqlalchemy.exc import DataError

from shared.auth import UserDirectory, load_directory
from shared.db import Database
from shared.events import utcnow
from shared.http import install_error_handlers, ops_router
from shared.kafka import EventProducer

from . import store
from .actors import Actor, http_status
from .commands import UNUSABLE_VALUE, Commands
from .directory import Staff
from .domain import InvalidCommand, OutreachError, Task, business_days_left, is_overdue
from .queries import Queries, QueueItem
from .schemas import (
    AttemptIn, AuditRowOut, CancelIn, PortalReplyIn, ClaimIn, ClaimNextIn, CompleteIn, Me, MyQueue, Problem, QueueList, ReassignIn,
    ReleaseIn, ScheduleIn, SupervisorViewOut, TaskOut, TaskSummary,
)
from .sessions import SessionSigner
from .settings import OutreachSettings
from .web import install_pages

HERE = Path(__file__).resolve().parent


@dataclass
class Services:
    settings: OutreachSettings
    db: Database
    directory: UserDirectory
    staff: Staff
    commands: Commands
    queries: Queries
    signer: SessionSigner
    producer: EventProducer | None


def _services(request: Request) -> Services:
    return request.app.state.outreach


def api_actor(request: Request) -> Actor:
    """The caller, from ``Authorization: Bearer`` or ``X-API-Key`` (401 otherwise; 403 without an outreach role)."""
    svc = _services(request)
    auth = request.headers.get("authorization") or ""
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key")
    user = svc.directory.authenticate(key)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required",
                            headers={"WWW-Authenticate": "Bearer"})
    member = svc.staff.of(user)
    if member is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "no access to outreach")
    return Actor(user, member)


ActorDep = Annotated[Actor, Depends(api_actor)]
ServicesDep = Annotated[Services, Depends(_services)]


def endpoint_of(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"[:200]


ERRORS = {
    401: {"model": Problem, "description": "not authenticated"},
    403: {"model": Problem, "description": "not allowed"},
    404: {"model": Problem, "description": "no such task (or a task outside your pods)"},
    409: {"model": Problem, "description": "the task changed since you read it, or the command does not fit its status"},
    422: {"model": Problem, "description": "invalid input"},
    503: {"model": Problem, "description": "the change could not be recorded; try again"},
}


def _install_domain_errors(app: FastAPI) -> None:
    @app.exception_handler(OutreachError)
    async def _domain_error(_req: Request, exc: OutreachError) -> JSONResponse:
        code = http_status(exc)
        if code == 404:
            body = {"detail": "task not found"}
        else:
            body = {"detail": str(exc)}
            if isinstance(exc, InvalidCommand) and exc.field:
                body["field"] = exc.field
        headers = {"Retry-After": "1"} if code == 503 else None
        return JSONResponse(body, status_code=code, headers=headers)

    @app.exception_handler(DataError)
    async def _unusable_value(_req: Request, _exc: DataError) -> JSONResponse:
        # The database refused a value of the request (a NUL character, a number out of range):
        # bad input, answered without echoing it.
        return JSONResponse({"detail": UNUSABLE_VALUE}, status_code=422)


def build_services(settings: OutreachSettings, producer: EventProducer | None,
                   now: Callable[[], datetime] = utcnow) -> Services:
    db = store.open_database(settings.resolved_database_url(), pool_size=10)
    store.create_schema(db)
    directory = load_directory(settings.users_file, settings.environment)
    staff = Staff(directory)
    ctx = settings.decision_context()
    signer = SessionSigner(settings.session_key, int(settings.session_hours * 3600))
    return Services(settings, db, directory, staff, Commands(db, producer, staff, ctx, now=now),  # type: ignore[arg-type]
                    Queries(db, staff, ctx, recent_days=settings.recent_encounter_days, now=now), signer, producer)


def create_api(settings: OutreachSettings, *, producer: EventProducer | None = None,
               now: Callable[[], datetime] = utcnow) -> FastAPI:
    own_producer = producer is None
    # one lifecycle event per request, awaited before the commit: no point lingering for a batch
    producer = producer or EventProducer(settings, client_id="outreach-api", **{"linger.ms": 0})
    svc = build_services(settings, producer, now)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        if own_producer:
            producer.close()
        svc.db.dispose()

    app = FastAPI(
        title="Outreach: nurse task queues",
        version="1",
        lifespan=lifespan,
        description=(
            "Care-gap, transitional-care and referral tasks in nurse, navigator, social-worker and dietician "
            "queues. Authenticate with `Authorization: Bearer <API key>` or `X-API-Key`. A nurse sees only her "
            "pods' members (another pod's task answers 404); ops users see aggregates only; every read or "
            "write of member data is written to the audit log. Every change takes the `expected_version` you "
            "read: when the task changed meanwhile the answer is 409. The nurse page is served at `/`."),
    )
    app.state.outreach = svc
    install_error_handlers(app)
    _install_domain_errors(app)
    app.include_router(ops_router("outreach", "api", health=lambda: {"database": svc.db.ping()}))
    _routes(app)
    install_pages(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


def _routes(app: FastAPI) -> None:  # noqa: C901 - one place lists the whole API
    @app.get("/api/me", response_model=Me, tags=["nurse"], summary="Who you are and which queues you work",
             responses=ERRORS)
    def me(actor: ActorDep) -> Me:
        s = actor.staff
        return Me(user_id=s.user_id, name=actor.user.name, access=s.access, roles=sorted(s.roles),
                  pods=sorted(s.pods), queues=sorted(s.queues()), capacity=s.capacity)

    @app.get("/api/queue", response_model=MyQueue, tags=["nurse"], responses=ERRORS,
             summary="My queue: tasks I hold and open tasks I may claim, highest priority first",
             description="Sorted by priority score (desc), due date, creation. `overdue` marks tasks past their "
                         "due date with nobody reached yet. Audited (one row per member listed).")
    def my_queue(request: Request, actor: ActorDep, svc: ServicesDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 200) -> MyQueue:
        held, waiting = svc.queries.my_queue(actor, endpoint_of(request), limit)
        return MyQueue(user_id=actor.user_id, queues=sorted(actor.staff.queues()),
                       working=[TaskSummary.of(i) for i in held], available=[TaskSummary.of(i) for i in waiting])

    @app.post("/api/queue/claim-next", response_model=TaskSummary, tags=["nurse"],
              responses={**ERRORS, 204: {"description": "nothing to claim in your queues"}},
              summary="Claim the highest-priority unclaimed task of my queues (atomic)")
    def claim_next(request: Request, actor: ActorDep, svc: ServicesDep, body: ClaimNextIn | None = None):
        task = svc.commands.claim_next(actor, body.queue if body else None, endpoint_of(request))
        if task is None:
            return Response(status_code=204)
        return _summary(svc, task)

    @app.get("/api/queues/{queue}/tasks", response_model=QueueList, tags=["supervisor"], responses=ERRORS,
             summary="A queue's unfinished tasks (role:pod)",
             description="Nurses of the queue's pod and role, the pod's supervisors and admins. Audited.")
    def queue_tasks(queue: str, request: Request, actor: ActorDep, svc: ServicesDep,
                    limit: Annotated[int, Query(ge=1, le=500)] = 200) -> QueueList:
        items = svc.queries.queue_tasks(actor, queue, endpoint_of(request), limit=limit)
        return QueueList(queue=queue, tasks=[TaskSummary.of(i) for i in items])

    @app.get("/api/tasks/{task_id}", response_model=TaskOut, tags=["nurse"], responses=ERRORS,
             summary="A task: why it exists, the priority explanation, the member's open gaps and recent encounters",
             description="Audited. A task outside your pods answers 404.")
    def task_detail(task_id: uuid.UUID, request: Request, actor: ActorDep, svc: ServicesDep) -> TaskOut:
        return TaskOut.of_detail(svc.queries.task_detail(actor, task_id, endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/claim", response_model=TaskSummary, tags=["nurse"], responses=ERRORS,
              summary="Claim a task (two nurses claiming one version: one wins, the other gets 409)")
    def claim(task_id: uuid.UUID, body: ClaimIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.claim(actor, task_id, body.expected_version, endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/release", response_model=TaskSummary, tags=["nurse"], responses=ERRORS,
              summary="Give a claimed task back to the queue")
    def release(task_id: uuid.UUID, body: ReleaseIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.release(actor, task_id, body.expected_version, body.note,
                                                  endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/attempts", response_model=TaskSummary, tags=["nurse"], responses=ERRORS,
              summary="Record an outreach attempt (phone, text, letter, portal) and its outcome",
              description="The first attempt moves a claimed task to in progress; `declined` ends it as done; "
                          "the configured number of failed attempts since the last reach ends it as unable to reach.")
    def attempt(task_id: uuid.UUID, body: AttemptIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.record_attempt(actor, task_id, body.expected_version, body.channel,
                                                         body.outcome, body.note, endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/reply", response_model=TaskSummary, tags=["nurse"], responses=ERRORS,
              summary="Answer a member's portal message (the reply shows in the patient portal)",
              description="Only for a task of kind `message` you hold (claimed or in progress): records a portal "
                          "attempt (reached) and publishes the reply on `portal.replies`.")
    def reply(task_id: uuid.UUID, body: PortalReplyIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.reply_in_portal(actor, task_id, body.expected_version, body.body,
                                                          endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/schedule", response_model=TaskSummary, tags=["nurse"], responses=ERRORS,
              summary="Book (or re-book) the appointment")
    def schedule(task_id: uuid.UUID, body: ScheduleIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.schedule(actor, task_id, body.expected_version, body.appointment_date,
                                                   body.note, endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/complete", response_model=TaskSummary, tags=["nurse"], responses=ERRORS,
              summary="Finish the task with an outcome")
    def complete(task_id: uuid.UUID, body: CompleteIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.complete(actor, task_id, body.expected_version, body.outcome, body.note,
                                                   endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/cancel", response_model=TaskSummary, tags=["supervisor"], responses=ERRORS,
              summary="Cancel a task (supervisor)")
    def cancel(task_id: uuid.UUID, body: CancelIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.cancel(actor, task_id, body.expected_version, body.reason,
                                                 endpoint_of(request)))

    @app.post("/api/tasks/{task_id}/reassign", response_model=TaskSummary, tags=["supervisor"], responses=ERRORS,
              summary="Give a task to another worker of its queue, or back to the queue (supervisor)")
    def reassign(task_id: uuid.UUID, body: ReassignIn, request: Request, actor: ActorDep, svc: ServicesDep):
        return _summary(svc, svc.commands.reassign(actor, task_id, body.expected_version, body.assignee,
                                                   body.allow_over_capacity, body.note, endpoint_of(request)))

    @app.get("/api/supervisor/view", response_model=SupervisorViewOut, tags=["supervisor"], responses=ERRORS,
             summary="Depth and overdue per queue and per nurse (aggregates, no member data)",
             description="Supervisors see their pods; ops and admins every pod (or `pod`).")
    def supervisor_view(actor: ActorDep, svc: ServicesDep,
                        pod: Annotated[str | None, Query(max_length=64)] = None) -> SupervisorViewOut:
        return SupervisorViewOut.of(svc.queries.supervisor_view(actor, pod))

    @app.get("/api/admin/audit", response_model=list[AuditRowOut], tags=["admin"], responses=ERRORS,
             summary="Query the audit log (admins)")
    def audit_log(request: Request, actor: ActorDep, svc: ServicesDep,
                  member_id: Annotated[str | None, Query(max_length=64)] = None,
                  user_id: Annotated[str | None, Query(max_length=64)] = None,
                  since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditRowOut]:
        rows = svc.queries.audit_log(actor, endpoint_of(request), member_id=member_id, user_id=user_id,
                                     since=since, until=until, limit=limit)
        return [AuditRowOut(**r) for r in rows]


def _summary(svc: Services, task: Task) -> TaskSummary:
    today = svc.queries.today()
    return TaskSummary.of(QueueItem(task, is_overdue(task, today),
                                    business_days_left(task, today, svc.queries.ctx.calendar)))
