"""Who is acting, and the refusals the API and the page share (beside the domain's errors)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import User

from .domain import IllegalTransition, InvalidCommand, OutreachError, PermissionDenied, StaffMember, VersionConflict


@dataclass(frozen=True)
class Actor:
    user: User
    staff: StaffMember

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def role(self) -> str:
        return self.user.primary_role


class TaskNotFound(OutreachError):
    """No such task (or one the user must not know about): HTTP 404."""

    def __init__(self) -> None:
        super().__init__("task not found")


class Unavailable(OutreachError):
    """The change could not be recorded (database or Kafka unavailable): HTTP 503, try again."""


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
