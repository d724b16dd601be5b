"""Domain errors. Texts name fields and statuses, never a member, a name or a date of birth.

The API maps them: ``IllegalTransition`` and ``VersionConflict`` → 409, ``InvalidCommand`` →
422, ``PermissionDenied`` → 403 (or 404 when ``hide`` is set: the task is outside the user's
pods and its existence must not leak).
"""

from __future__ import annotations


class OutreachError(Exception):
    """Base of the outreach domain's refusals."""


class IllegalTransition(OutreachError):
    """The command is not allowed from the task's current status (HTTP 409)."""

    def __init__(self, command: str, status: str, detail: str | None = None) -> None:
        text = f"cannot {command} a task in status {status}"
        super().__init__(f"{text}: {detail}" if detail else text)
        self.command = command
        self.status = status


class VersionConflict(OutreachError):
    """Someone changed the task since the caller read it (HTTP 409)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"task changed: expected version {expected}, current version {actual}")
        self.expected = expected
        self.actual = actual


class InvalidCommand(OutreachError):
    """The command's input is wrong (HTTP 422). ``field`` names the offending input."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class PermissionDenied(OutreachError):
    """The user may not do this (HTTP 403; 404 when ``hide`` is true)."""

    def __init__(self, reason: str, *, hide: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hide = hide
