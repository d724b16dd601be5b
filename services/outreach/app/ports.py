"""What the use cases need from storage and Kafka, as protocols (cosmicpython's repository and
unit of work). ``adapters/`` implements them on SQLAlchemy; the unit tests use in-memory fakes
(``tests/unit/outreach/fakes.py``).

Records (``member_gaps``, ``encounters``, profile rows) travel as plain dicts: they are what the
nurse page shows, stored as they came.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from shared.errors import TransientError
from shared.events import Event

from ..domain import Task, Transition
from .member_facts import MemberFacts

Record = dict[str, Any]

# Which task fields a kind of change writes (the adapters' column names are the same).
# A nurse command never touches the readmission mark, ``event_ids`` or the priority: the worker owns them.
WORKFLOW_FIELDS = ("status", "version", "updated_at", "closed_at", "assignee", "attempts", "appointment_date",
                   "outcome", "open_key")
SYSTEM_FIELDS = WORKFLOW_FIELDS + ("pod", "queue", "event_ids")
REPRIORITIZE_FIELDS = ("readmitted_on", "readmission_ref", "event_ids", "priority")
NON_TERMINAL = ("open", "claimed", "in_progress", "scheduled")
HELD = ("claimed", "in_progress", "scheduled")


class StaleTask(TransientError):
    """A task changed between reading and writing it (optimistic concurrency): the worker's batch
    is decided again, a nurse's command answers 409."""


class StoreUnavailable(TransientError):
    """The database could not be reached or refused the transaction: try again."""


class UnusableValue(Exception):
    """A value the database refuses (a NUL character, a number out of range): bad input."""


class TaskRepository(Protocol):
    def get(self, task_id: uuid.UUID) -> Task | None: ...

    def of_members(self, member_ids: Iterable[str]) -> dict[str, list[Task]]: ...

    def insert(self, tasks: Sequence[Task]) -> None: ...

    def update(self, items: Sequence[tuple[Task, int]], fields: Sequence[str], *, check_version: bool = True) -> None:
        """Write ``fields`` of each task where its version is still the one read; ``StaleTask`` otherwise."""

    def insert_transitions(self, transitions: Sequence[Transition]) -> None: ...

    def transitions_of(self, task_id: uuid.UUID) -> list[Record]: ...

    def open_loads(self, user_ids: Iterable[str]) -> dict[str, int]:
        """Unfinished tasks per assignee."""

    def next_claimable(self, queues: Sequence[str], user_id: str, skip: Sequence[str]) -> Task | None:
        """The highest-priority open task of ``queues`` that nobody else holds (locked for this
        transaction where the database can skip rows another transaction locked)."""

    def members_with_open_tasks(self) -> list[str]: ...

    def queue_counts(self, today: date) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
        """((queue, status, unfinished tasks), (queue, overdue tasks))."""


class MemberRepository(Protocol):
    def facts(self, member_ids: Iterable[str], *, gaps: bool = True, encounters: bool = True,
              diagnoses: bool = True) -> dict[str, MemberFacts]: ...

    def profile_record(self, member_id: str) -> Record | None: ...

    def names(self, member_ids: Iterable[str]) -> dict[str, str]: ...

    def risk_change(self, member_id: str) -> Record | None:
        """The explanation of the member's latest tier change from risk.tiers (``risk_changed_record``)."""

    def save(self, *, profiles: Sequence[Record] = (), diagnoses: Sequence[tuple[str, str]] = (),
             gaps: Sequence[Record] = (), encounters: Sequence[Record] = (), risk_tiers: Sequence[Record] = (),
             risk_changes: Sequence[Record] = ()) -> None: ...


class AuditLog(Protocol):
    def record(self, *, user_id: str, role: str, member_ids: Iterable[str | None], action: str, endpoint: str,
               detail: str | None = None) -> None: ...

    def query(self, *, member_id: str | None, user_id: str | None, since: datetime | None, until: datetime | None,
              limit: int) -> list[Record]: ...


class JobLog(Protocol):
    """Which daily job ran for which day."""

    def done(self, job: str, day: date) -> bool: ...

    def start(self, job: str, day: date, at: datetime) -> bool:
        """Claim the job for the day in this transaction; False when it ran (or runs) elsewhere."""

    def finish(self, job: str, day: date, at: datetime, detail: str) -> None: ...


class TaskReads(Protocol):
    """The read side of the API and the page."""

    def held_by(self, user_id: str, limit: int) -> list[Task]: ...

    def claimable(self, queues: Sequence[str], user_id: str, limit: int) -> list[Task]: ...

    def in_queue(self, queue: str, statuses: Sequence[str], limit: int) -> list[Task]: ...

    def workload_rows(self, today: date, pods: set[str] | None) -> list[tuple]:
        """(queue, status, assignee, tasks, overdue, due today) of unfinished tasks."""


class PageSessions(Protocol):
    def revoked(self, session_id: str) -> bool: ...

    def revoke(self, session_id: str, expires_at: datetime, now: datetime) -> None: ...


class UnitOfWork(Protocol):
    tasks: TaskRepository
    members: MemberRepository
    audit: AuditLog
    jobs: JobLog
    reads: TaskReads
    sessions: PageSessions

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None:
        """Roll back whatever was not committed."""

    def publish(self, events: Sequence[Event]) -> None:
        """Events to write to Kafka, confirmed, before the commit (outreach.tasks)."""

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the transaction committed (metrics count committed work only)."""

    def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


RiskSource = Literal["live", "cached", "stale", "not_found", "unavailable", "not_connected"]


@dataclass(frozen=True)
class RiskLookup:
    """What the risk service said about a member: ``live`` (asked now), ``cached`` (asked a moment
    ago), ``stale`` (it does not answer now; this is its last answer), ``not_found`` (no assessment:
    not on the roster), ``unavailable`` (no answer and nothing recent), ``not_connected``."""

    source: RiskSource
    view: Record | None = None
    fetched_at: datetime | None = None
    problem: str | None = None  # why there is no fresh answer, in words (never a value)


class RiskViews(Protocol):
    """The member's risk view from the risk service (``adapters/risk_api.py``: its API, cached)."""

    def view(self, member_id: str, on_behalf_of: str) -> RiskLookup:
        """Never raises for the risk service's failures: they come back as ``unavailable``/``stale``."""
