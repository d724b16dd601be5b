"""The reads behind the API and the hospitalist page: census, the alert inbox and its
acknowledgment, a member's encounters, the feed-quirks report.

Each is one unit of work. A read that returns member data writes its audit rows (who, which
members, which endpoint) in the same unit of work; counts (census by facility or practice) and
the feed-quirks report carry no member data. Whose members a user sees is the user's ``Scope``
(``scope.py``): an alert or a member outside it is not found.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.events import utcnow
from shared.users import User

from .ports import Record, UnitOfWork, UnitOfWorkFactory
from .scope import scope_of

ALERT_STATUSES = ("open", "acknowledged", "retracted", "all")


class NotFound(Exception):
    """No such alert or member, or one outside the user's scope (HTTP 404)."""


class NoMemberScope(Exception):
    """The user sees no members at all: no hospitalist group, no pod (HTTP 403)."""


class Reads:
    def __init__(self, uow: UnitOfWorkFactory, *, now: Callable[[], datetime] = utcnow) -> None:
        self.uow = uow
        self.now = now

    # ------------------------------------------------------------------ census
    def census_by_facility(self) -> list[tuple[str, int]]:
        """Attributed members in house, by facility (counts only)."""
        with self.uow() as uow:
            return uow.encounters.census_by_facility()

    def census_by_practice(self) -> dict[str, dict[str, int]]:
        """Attributed members in house, by primary care practice and facility (counts only)."""
        with self.uow() as uow:
            return uow.encounters.census_by_practice()

    def census_members(self, user: User, facility: str, endpoint: str) -> list[Record]:
        """Who of the user's scope is in house at ``facility`` (audited)."""
        scope = scope_of(user)
        if scope.empty:
            raise NoMemberScope("no member scope (groups or pods)")
        with self.uow() as uow:
            rows = uow.encounters.census_members(facility, scope)
            _audit(uow, user, [r["member_id"] for r in rows], endpoint)
            uow.commit()
        return rows

    # ------------------------------------------------------------------ alerts
    def inbox(self, user: User, endpoint: str, *, status: str = "open", group: str | None = None, limit: int = 100,
              before: datetime | None = None) -> list[Record]:
        """The alerts of the user's scope, newest first (audited)."""
        with self.uow() as uow:
            rows = uow.alerts.inbox(scope_of(user), status=status, group=group, limit=limit, before=before)
            _audit(uow, user, [r["member_id"] for r in rows], endpoint)
            uow.commit()
        return rows

    def acknowledge(self, user: User, alert_id: str, endpoint: str) -> Record:
        """The first acknowledgment is kept; the alert as it now is (an audited write)."""
        with self.uow() as uow:
            row = uow.alerts.get(alert_id)
            if row is None or not scope_of(user).allows(row["hospitalist_group"], row["pod"]):
                raise NotFound("no such alert")
            uow.alerts.acknowledge(alert_id, user.id, self.now())
            _audit(uow, user, [row["member_id"]], endpoint, action="write", detail="acknowledge")
            row = uow.alerts.get(alert_id)
            uow.commit()
        return row

    def alert_sent(self, user: User, member_id: str, endpoint: str) -> None:
        """An alert pushed to the user's open stream is a read of that member's data."""
        with self.uow() as uow:
            _audit(uow, user, [member_id], endpoint)
            uow.commit()

    # ------------------------------------------------------------------ members
    def member_encounters(self, user: User, member_id: str, endpoint: str) -> list[Record]:
        """A member of the user's scope: encounters, newest first (audited)."""
        with self.uow() as uow:
            where = uow.crosswalk.scope_of_member(member_id)
            if where is None or not scope_of(user).allows(*where):
                raise NotFound("no such member in your scope")
            rows = uow.encounters.of_member(member_id)
            _audit(uow, user, [member_id], endpoint)
            uow.commit()
        return rows

    # ------------------------------------------------------------------ feeds
    def feed_quirks(self, facility: str | None = None) -> list[dict[str, Any]]:
        """Per sending facility: what its feed does oddly (no patient data)."""
        with self.uow() as uow:
            return uow.feeds.report(facility)


def _audit(uow: UnitOfWork, user: User, member_ids: list[str], endpoint: str, *, action: str = "read",
           detail: str | None = None) -> None:
    uow.audit.record(user_id=user.id, role=user.primary_role, member_ids=member_ids, action=action,
                     endpoint=endpoint, detail=detail)
