"""The JSON API under ``/api`` (the nurse page is ``pages.py``).

Authenticate with ``Authorization: Bearer <key>`` or ``X-API-Key`` (``shared.auth`` users).
Errors: 401 unauthenticated, 403 not allowed, 404 no such task *or another pod's task*, 409 the
task changed (optimistic concurrency) or the command does not fit its status, 422 bad input,
503 the change could not be recorded (try again) — never a 500 for bad input.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from ..app.commands import UNUSABLE_VALUE
from ..app.ports import StoreUnavailable, UnusableValue
from ..app.queries import QueueItem
from ..domain import InvalidCommand, OutreachError, Task, business_days_left, is_overdue
from .deps import ActorDep, Services, ServicesDep, endpoint_of, http_status
from .schemas import (
    AttemptIn, AuditRowOut, CancelIn, ClaimIn, ClaimNextIn, CompleteIn, Me, MyQueue, PortalReplyIn, Problem, QueueList,
    ReassignIn, ReleaseIn, ScheduleIn, SupervisorViewOut, TaskOut, TaskSummary,
)


ERRORS = {
    401: {"model": Problem, "description": "not authenticated"},
    403: {"model": Problem, "description": "not allowed"},
    404: {"model": Problem, "description": "no such task (or a task outside your pods)"},
    409: {"model": Problem, "description": "the task changed since you read it, or the command does not fit its status"},
    422: {"model": Problem, "description": "invalid input"},
    503: {"model": Problem, "description": "the change could not be recorded; try again"},
}


def install_domain_errors(app: FastAPI) -> None:
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

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(_req: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"detail": f"the database is unavailable ({exc}); try again"}, status_code=503,
                            headers={"Retry-After": "1"})

    @app.exception_handler(UnusableValue)
    async def _unusable_value(_req: Request, _exc: UnusableValue) -> JSONResponse:
        # The database refused a value of the request (a NUL character, a number out of range):
        # bad input, answered without echoing it.
        return JSONResponse({"detail": UNUSABLE_VALUE}, status_code=422)


def install_json_api(app: FastAPI) -> None:  # noqa: C901 - one place lists the whole API
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
