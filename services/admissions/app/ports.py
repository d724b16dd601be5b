"""What the use cases need from storage, as protocols (cosmicpython's repository and unit of
work). ``adapters/`` implements them on SQLAlchemy; the unit tests use in-memory fakes
(``tests/unit/admissions/fakes.py``).

The worker's batch (``batch.py``) reads and writes through four repositories:

- ``Crosswalk``: who a patient is — the members' latest roster snapshots with their
  (assigning authority, MRN) crosswalk, and the patient keys an A40 merged into another record;
- ``PatientStates``: the domain's ``PatientState`` per member or unmatched patient, locked for
  the batch where the database can;
- ``Encounters``: the encounter and census rows the states imply (the API's read model);
- ``Alerts``: the hospitalist's inbox rows (the acknowledgment is kept when an alert changes).

Rows of the read model travel as plain dicts (``Record``) holding the domain's values (a
location, diagnoses, the alert as raised); the adapters choose how to store them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from shared.events import MemberRosterV1

from ..domain.patient_state import PatientState
from .scope import Scope

Record = dict[str, Any]
Pair = tuple[str, str]  # (assigning authority, MRN)


class Crosswalk(Protocol):
    def members_of(self, pairs: Iterable[Pair]) -> dict[Pair, tuple[str, MemberRosterV1 | None]]:
        """(authority, MRN) → (member id, that member's latest roster snapshot), for the pairs known."""

    def rosters(self, member_ids: Iterable[str]) -> dict[str, MemberRosterV1]:
        """The latest roster snapshot of each member that has one."""

    def save_rosters(self, rosters: Sequence[MemberRosterV1], at: datetime) -> None:
        """Store the snapshots; each member's crosswalk rows become the MRNs its snapshot lists
        (an MRN moving to another member moves)."""

    def merged_into(self, patient_keys: Iterable[str]) -> dict[str, str]:
        """Patient key → the record (owner) an A40 merged it into, for the keys that were merged."""

    def save_merged(self, merged: Mapping[str, str], at: datetime) -> None: ...

    def scope_of_member(self, member_id: str) -> tuple[str | None, str | None] | None:
        """(hospitalist group, pod) of a rostered member; None when the member is unknown."""


class PatientStates(Protocol):
    def load(self, owners: Iterable[str]) -> dict[str, tuple[PatientState, int]]:
        """owner → (state, version) of the stored ones, locked for this unit of work where the
        database can (in a fixed order, so two workers never deadlock)."""

    def save(self, new: Sequence[PatientState], changed: Sequence[tuple[PatientState, int]],
             gone: Sequence[str], at: datetime) -> None:
        """Insert ``new`` (version 1; a concurrent insert of the same owner fails the unit of
        work, which is retried), update ``changed`` to the version given, delete ``gone``."""

    def unmatched(self) -> int:
        """Patient records no roster member matches yet."""


class Encounters(Protocol):
    def save(self, encounters: Sequence[Record], gone_encounters: Sequence[tuple[str, str]],
             census: Sequence[Record], gone_census: Sequence[tuple[str, str]]) -> None:
        """Upsert the current encounter rows (owner, encounter_key) and census rows (member_id,
        encounter_key); delete the ones that no longer exist."""

    def of_member(self, member_id: str) -> list[Record]:
        """A member's encounters, newest admission first."""

    def census_by_facility(self) -> list[tuple[str, int]]: ...

    def census_by_practice(self) -> dict[str, dict[str, int]]: ...

    def census_members(self, facility: str, scope: Scope) -> list[Record]: ...


class Alerts(Protocol):
    def load(self, alert_ids: Iterable[str]) -> dict[str, Record]:
        """Stored alert rows (``details``: the alert as published with its updates, a dict)."""

    def save(self, new: Sequence[Record], changed: Sequence[Record]) -> None:
        """``new``: alerts raised (or raised again: the acknowledgment is reset), ``details`` the
        ``AlertRaisedV1``; ``changed``: status, readmission, retraction and ``details`` (a dict)."""

    def inbox(self, scope: Scope, *, status: str, group: str | None, limit: int,
              before: datetime | None) -> list[Record]:
        """The inbox view of the alerts in ``scope``, newest first."""

    def get(self, alert_id: str) -> Record | None: ...

    def acknowledge(self, alert_id: str, user_id: str, at: datetime) -> None:
        """The first acknowledgment wins; acknowledging again changes nothing."""


class AuditLog(Protocol):
    def record(self, *, user_id: str, role: str, member_ids: Iterable[str | None], action: str, endpoint: str,
               detail: str | None = None) -> None: ...


class FeedReport(Protocol):
    def report(self, facility: str | None) -> list[Record]:
        """Per sending facility: accepted, refused, duplicates, warnings, refusals, first/last seen."""


class UnitOfWork(Protocol):
    crosswalk: Crosswalk
    states: PatientStates
    encounters: Encounters
    alerts: Alerts
    audit: AuditLog
    feeds: FeedReport

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None:
        """Roll back whatever was not committed."""

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction committed, never for one rolled back (metrics count
        committed work only: a batch retried after a failed commit is counted once)."""

    def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
