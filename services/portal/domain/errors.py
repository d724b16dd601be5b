"""What a member's request can run into; entry points turn these into pages or HTTP answers."""

from __future__ import annotations


class PortalError(Exception):
    """Base of the portal's refusals."""


class NotFound(PortalError):
    """Nothing of that id for this member: another member's id answers the same as no id at all."""

    def __init__(self, what: str = "record") -> None:
        super().__init__(f"{what} not found")
        self.what = what


class InvalidInput(PortalError):
    """A form or request the member can fix; ``field`` names it, the text never echoes the value."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class SignInRefused(PortalError):
    """Sign-in failed; the text does not say whether the member id or the code was wrong."""

    def __init__(self, reason: str, *, locked: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked = locked


class Unavailable(PortalError):
    """The change could not be recorded (Kafka or the database): nothing was kept, try again."""
