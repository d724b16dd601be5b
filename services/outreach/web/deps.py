"""What every HTTP route needs: the service's parts (``Services``, built by ``api.py``), the
caller (``ActorDep``), the endpoint name for the audit log, and the HTTP status of each refusal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from shared.auth import UserDirectory
from shared.web.sessions import SessionSigner

from ..app.actors import Actor, TaskNotFound, Unavailable
from ..app.commands import Commands
from ..app.ports import UnitOfWorkFactory
from ..app.queries import Queries
from ..app.risk_view import MemberRisk
from ..app.staff import Staff
from ..domain import IllegalTransition, InvalidCommand, OutreachError, PermissionDenied, VersionConflict
from ..settings import OutreachSettings


@dataclass
class Services:
    settings: OutreachSettings
    db: Any  # shared.db.Database (disposed when the app stops)
    uow: UnitOfWorkFactory
    directory: UserDirectory
    staff: Staff
    commands: Commands
    queries: Queries
    signer: SessionSigner
    producer: Any  # shared.kafka.EventProducer | None
    risk: MemberRisk  # the member's risk view on the task page
    close_risk: Callable[[], None]


def services_of(request: Request) -> Services:
    return request.app.state.outreach


def api_actor(request: Request) -> Actor:
    """The caller, from ``Authorization: Bearer`` or ``X-API-Key`` (401 otherwise; 403 without an outreach role)."""
    svc = services_of(request)
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
ServicesDep = Annotated[Services, Depends(services_of)]


def endpoint_of(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"[:200]


def http_status(exc: OutreachError) -> int:
    """409 changed meanwhile or not possible in this status; 422 bad input; 404 not found or
    outside the user's pods; 403 not allowed; 503 try again."""
    if isinstance(exc, (VersionConflict, IllegalTransition)):
        return 409
    if isinstance(exc, InvalidCommand):
        return 422
    if isinstance(exc, TaskNotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 404 if exc.hide else 403
    if isinstance(exc, Unavailable):
        return 503
    return 400
