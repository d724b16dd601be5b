"""What the load use cases need from the outside, as protocols (the adapters implement them over
Kafka, PostgreSQL and the file system; the unit tests over memory).

- ``EventSink``: produces events and dead letters in batches; calls ``on_confirmed(tags)`` for
  each batch the broker confirmed (in the caller's thread, from ``event`` / ``dead_letter`` /
  ``flush``), raises ``shared.errors.TransientError`` for a batch it did not;
- ``LoadRecords``: the load's record (``running`` with its owner and deadline, then its terminal
  state and report) and the claims files already loaded (by SHA-256);
- ``RosterSnapshots``: the latest snapshot of every member this service produced (the broker
  confirmed it): what a roster row is compared with, and what a full load terms;
- ``ClaimVersions``: the claim versions this service produced (the broker confirmed them): what
  tells a held correction (its original never came);
- ``RosterSeeds``: the upgrade step's write of snapshots read from ``members.roster`` (a snapshot
  the table holds from later is kept);
- ``ReportFiles``: the report as JSON (beside the file or in the reports folder);
- ``Validator``: pyx12's validating walk of an X12 file, with its 999 written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..domain import DeadLetter, LoadReport
from ..domain.held import ClaimLink


class EventSink(Protocol):
    def event(self, event: Any, tag: Any = None) -> None: ...

    def dead_letter(self, letter: DeadLetter, tag: Any = None) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


SinkFactory = Callable[[Callable[[list[Any]], None]], EventSink]  # on_confirmed -> a sink


@dataclass(frozen=True)
class StoredSnapshot:
    """A member's latest roster snapshot as produced: its id, body (``domain.ids.roster_body``)
    and the body's hash."""

    member_id: str
    event_id: str
    body_hash: str
    status: str
    occurred_at: datetime
    body: dict[str, Any]


class LoadRecords(Protocol):
    def start(self, report: LoadReport) -> None:
        """Write the ``running`` record; sets ``report.owner`` (the process running the load)."""

    def finish(self, report: LoadReport) -> None: ...

    def first_done_claims_load(self, sha256: str) -> str | None:
        """The id of the first ``done`` claims load of this file, if any."""

    def get(self, load_id: str) -> dict[str, Any] | None: ...


class RosterSnapshots(Protocol):
    def stored(self, member_ids: list[str]) -> dict[str, StoredSnapshot]: ...

    def active(self) -> Iterator[StoredSnapshot]: ...

    def record(self, snapshots: list[StoredSnapshot]) -> None: ...


class RosterSeeds(Protocol):
    def seed(self, snapshots: list[StoredSnapshot], forgotten: list[tuple[str, datetime]]) -> tuple[int, int]:
        """Write each snapshot unless the member's stored one occurred later (or is this one);
        delete the members ``forgotten`` (a tombstone at that time) whose stored snapshot did not
        occur after it. Returns (snapshots written, members deleted)."""


class ClaimVersions(Protocol):
    def for_members(self, member_ids: list[str]) -> dict[str, list[ClaimLink]]: ...

    def record(self, versions: Iterable[tuple[str, ClaimLink]]) -> None:
        """(member id, version) pairs the broker confirmed; a version recorded twice is kept once."""


class ReportFiles(Protocol):
    def write(self, report: LoadReport, beside: Path | None) -> None:
        """Write the report; sets ``report.report_file`` (None when no folder took it)."""


@dataclass
class Validated:
    """The outcome of the validating walk: ``summary`` is the report's ``validation``."""

    summary: dict[str, Any]
    notes: list[str]
    ack_file: str | None
    crashed: str | None
    rejected: list[str] = field(default_factory=list)  # ST control numbers the 999 refused


class Validator(Protocol):
    def __call__(self, path: Path, beside: Path | None, load_id: str, deadline: float) -> Validated:
        """Raises ``app.budget.BudgetExceeded`` when ``deadline`` (``time.monotonic()``) passes."""


@dataclass(frozen=True)
class LoadConfig:
    batch_size: int = 2000
    rejections_limit: int = 1000
    time_budget_s: float = 3600.0
    max_term_fraction: float = 0.5


@dataclass
class LoadContext:
    """Everything a load runs over (``adapters.wiring.load_context`` builds the real one)."""

    config: LoadConfig
    sink: SinkFactory
    records: LoadRecords
    roster: RosterSnapshots
    claims: ClaimVersions
    files: ReportFiles
    validator: Validator | None = None
