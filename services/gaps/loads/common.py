"""What every load (roster or claims, file or API) shares: the context, the report, the batched
sender, dead letters for rejected input, format detection, the time budget and the load record.

A report never holds patient data: positions (line, segment, ST control number), scopes and
reasons that name fields. The rejected text itself goes only to ``<topic>.dlq``.

Every load ends in a terminal state, in its report and its ``ingest_loads`` row:

- ``done``: the input was read to its end; ``accepted`` / ``rejected`` count its records;
- ``rejected``: the input as a whole was refused, nothing in it loaded (not readable as its
  format, a wrong header, every transaction set refused, validation could not be completed);
- ``failed``: the load could not finish - the broker did not confirm, the time budget
  (``LOAD_TIME_BUDGET_S``) ran out, an unexpected error, or its process stopped (``ownership``);
  ``error`` says why, and loading the same input again is safe (ids are deterministic);
- ``duplicate``: a claims file already loaded, not produced again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import update

from shared import metrics as shared_metrics
from shared.db import Database, insert_ignore
from shared.deadletter import dead_letter_message
from shared.kafka import EventProducer, OutMessage

from ..ingest import Progress, Rejection
from ..settings import GapsSettings
from ..adapters.tables import ingest_loads

log = logging.getLogger(__name__)

INGEST_CONSUMER = "gaps.ingest"  # names the dead letters' origin (dlq.consumer header)
HEAD_BYTES = 64 * 1024
TERMINAL = frozenset({"done", "rejected", "failed", "duplicate"})
WHOLE_INPUT_SCOPES = frozenset({"file", "group", "transaction"})


class BudgetExceeded(Exception):
    """The load's time budget ran out."""


class Budget:
    """A load's time budget: ``check()`` raises ``BudgetExceeded`` once it has run out (it
    looks at the clock every ``every`` calls)."""

    def __init__(self, seconds: float, every: int = 256) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.deadline_at = utcnow() + timedelta(seconds=seconds)
        self._every = every
        self._n = 0

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self) -> None:
        self._n += 1
        if self._n % self._every == 0 and time.monotonic() > self.deadline:
            raise BudgetExceeded()

    def reason(self, what: str) -> str:
        return (f"the load's time budget of {self.seconds:g} s (LOAD_TIME_BUDGET_S) ran out {what}; what was "
                "produced keeps its ids: loading the same input again is safe")


@dataclass
class LoadContext:
    settings: GapsSettings
    db: Database
    producer: EventProducer


def safe_error(exc: BaseException) -> str:
    """An error for a report: broker errors say what failed; anything else only its class
    (a database error can quote row values)."""
    from shared.errors import TransientError

    if isinstance(exc, TransientError):
        return f"{exc.__class__.__name__}: {str(exc)[:300]}"
    return exc.__class__.__name__


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_load_id(kind: str, sha256: str | None = None) -> str:
    """``<kind>-<UTC second>-<file hash prefix>-<random>``: the same file loaded twice in one
    second (``force``) still gets two loads, two rows and two reports."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{(sha256 or uuid.uuid4().hex)[:10]}-{uuid.uuid4().hex[:6]}"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_format(path: Path) -> str:
    """x12 | csv | json, by the file's first bytes (then its extension)."""
    with path.open("rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"ISA"):
        return "x12"
    if head[:1] in (b"{", b"["):
        return "json"
    ext = path.suffix.lower()
    if ext in (".x12", ".edi", ".837"):
        return "x12"
    if ext in (".json", ".jsonl", ".ndjson"):
        return "json"
    return "csv"


def read_head(path: Path, limit: int = HEAD_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(limit)


@dataclass
class LoadReport:
    load_id: str
    kind: str  # roster | claims
    format: str
    mode: str = "-"
    file: str | None = None
    sha256: str | None = None
    status: str = "running"  # running | done | rejected | failed | duplicate (see the module text)
    started_at: str = field(default_factory=lambda: utcnow().isoformat())
    finished_at: str | None = None
    seconds: float | None = None
    accepted: int = 0
    rejected: int = 0
    lines: int = 0
    changed: int = 0
    unchanged: int = 0
    termed: int = 0
    dead_lettered: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    rejections_listed: int = 0
    warnings: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    validation: dict[str, Any] | None = None
    ack_999_file: str | None = None
    report_file: str | None = None
    error: str | None = None
    owner: dict[str, Any] | None = None  # host, pid, process start of the process running the load
    deadline: str | None = None  # when the time budget runs out (ISO)

    def conclude(self) -> None:
        """``done``, or ``rejected`` when nothing was accepted because the input was refused as a
        whole (a file, group or transaction-set rejection); ``error`` then names the first reason."""
        whole = getattr(self, "_whole_reason", None)
        if self.accepted == 0 and self.changed == 0 and self.unchanged == 0 and whole:
            self.status = "rejected"
            self.error = self.error or whole[:500]
        else:
            self.status = "done"

    def add_rejection(self, r: Rejection, limit: int) -> None:
        if r.scope in WHOLE_INPUT_SCOPES and getattr(self, "_whole_reason", None) is None:
            self._whole_reason = r.reason
        if not r.covered:
            self.rejected += 1
        if len(self.rejections) < limit:
            p = r.position
            self.rejections.append({
                "scope": r.scope, "where": p.describe(), "st_control_number": p.st_control_number,
                "segment": p.segment_number, "claim_index": p.claim_index, "lines": list(p.lines) or None,
                "reason": r.reason, "dead_lettered": not r.covered,
            })
            self.rejections_listed = len(self.rejections)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BatchSender:
    """Produce in batches with one batch confirming while the next is being built.

    ``add(message, tag)``; every ``batch_size`` messages the batch goes to a single sending
    thread (``send_messages_sync``: all produced, then all confirmed), so the file keeps
    being parsed meanwhile and the order of messages is kept. ``on_confirmed(tags)`` runs for
    each batch the broker confirmed; a failed batch raises ``DeliveryError`` from ``add`` or
    ``flush``. At most ``depth`` batches are pending (bounded memory).
    """

    def __init__(self, producer: EventProducer, batch_size: int,
                 on_confirmed: Callable[[list[Any]], None], depth: int = 2) -> None:
        self.producer = producer
        self.batch_size = batch_size
        self.on_confirmed = on_confirmed
        self.depth = depth
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="gaps-ingest-send")
        self._pending: deque[tuple[Future, list[Any]]] = deque()
        self._messages: list[OutMessage] = []
        self._tags: list[Any] = []

    def add(self, message: OutMessage, tag: Any = None) -> None:
        self._messages.append(message)
        self._tags.append(tag)
        if len(self._messages) >= self.batch_size:
            self._submit()

    def _submit(self) -> None:
        if not self._messages:
            return
        messages, tags = self._messages, self._tags
        self._messages, self._tags = [], []
        self._pending.append((self._executor.submit(self.producer.send_messages_sync, messages), tags))
        while len(self._pending) > self.depth:
            self._settle()

    def _settle(self) -> None:
        fut, tags = self._pending.popleft()
        fut.result()
        self.on_confirmed(tags)

    def flush(self) -> None:
        self._submit()
        while self._pending:
            self._settle()

    def close(self) -> None:
        try:
            for fut, _ in self._pending:
                fut.cancel()
        finally:
            self._executor.shutdown(wait=True)


def dead_letter(settings: GapsSettings, topic: str, r: Rejection, *, load_id: str, file_name: str | None,
                fmt: str, head: bytes | None = None) -> OutMessage:
    """A rejected record for ``<topic>.dlq``: its raw text, the reason and where it was."""
    raw = r.raw.encode("utf-8", "replace") if r.raw else (head or b"")
    key = (r.key or file_name or load_id).encode()[:200]
    headers = [("gaps.load_id", load_id.encode()), ("gaps.format", fmt.encode()),
               ("gaps.position", r.position.describe().encode()), ("gaps.scope", r.scope.encode())]
    if file_name:
        headers.append(("gaps.source_file", file_name.encode("utf-8", "replace")[:255]))
    shared_metrics.DEAD_LETTERS.labels(INGEST_CONSUMER, settings.topic(topic)).inc()
    return dead_letter_message(settings.topic(topic), raw, key, headers, reason=r.reason, consumer=INGEST_CONSUMER,
                               exception="Rejected")


# ------------------------------------------------------------------------------ load records
def record_start(db: Database, report: LoadReport, budget: Budget | None = None) -> None:
    """The ``running`` row, with its owner and deadline (``ownership`` ends it if the process dies)."""
    from .ownership import current_owner

    report.owner = current_owner()
    if budget is not None:
        report.deadline = budget.deadline_at.isoformat()
    with db.transaction() as session:
        insert_ignore(session, ingest_loads, [{
            "load_id": report.load_id, "kind": report.kind, "format": report.format, "mode": report.mode,
            "file_name": report.file, "sha256": report.sha256, "status": "running", "started_at": utcnow(),
            "accepted": 0, "rejected": 0, "lines": 0, "report": json.dumps(report.as_dict()),
        }])


def record_finish(db: Database, report: LoadReport) -> None:
    from .. import metrics

    metrics.LOADS_FINISHED.labels(report.kind, report.format, report.status).inc()
    with db.transaction() as session:
        session.execute(update(ingest_loads).where(ingest_loads.c.load_id == report.load_id).values(
            status=report.status, finished_at=utcnow(), accepted=report.accepted, rejected=report.rejected,
            lines=report.lines, report=json.dumps(report.as_dict())))


def write_report(settings: GapsSettings, report: LoadReport, beside: Path | None) -> Path | None:
    """The report as JSON beside the file (``<file>.report.json``) or in REPORTS_DIR."""
    candidates = []
    if beside is not None:
        candidates.append(beside.with_name(beside.name + ".report.json"))
    candidates.append(settings.reports_path() / f"{report.load_id}.json")
    for target in candidates:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            report.report_file = str(target)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps(report.as_dict(), indent=2))
            os.replace(tmp, target)
            return target
        except OSError:
            continue
    report.report_file = None
    log.warning("load %s: the report could not be written to a file", report.load_id)
    return None


class ProgressRelay:
    """Parser progress → the caller's callback and the ``gaps_ingest_progress_ratio`` gauge."""

    def __init__(self, callback: Callable[[Progress], None] | None, budget: Budget | None = None) -> None:
        from .. import metrics

        self.callback = callback
        self.gauge = metrics.INGEST_PROGRESS
        self.last: Progress | None = None
        self.budget = budget

    def __call__(self, p: Progress) -> None:
        self.last = p
        if self.budget is not None and not p.done and self.budget.expired():
            raise BudgetExceeded()  # out of the parser, into the load's failure path
        frac = p.fraction
        if frac is not None:
            self.gauge.set(frac)
        if self.callback:
            self.callback(p)


def flush_quietly(sender: "BatchSender") -> None:
    """Confirm what was already handed to the broker when a load stops on its time budget: the
    report counts what was confirmed, and a broker failure here is logged, not raised over the
    budget failure that ended the load."""
    from shared.errors import TransientError

    try:
        sender.flush()
    except TransientError as exc:
        log.warning("load stopping: the broker did not confirm the last batch (%s)",
                                            type(exc).__name__)
