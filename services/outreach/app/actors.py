"""Who is acting, and the refusals the API and the page share (beside the domain's errors)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.users import User

from ..domain import OutreachError, StaffMember


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
