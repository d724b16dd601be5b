"""A load's report and its terminal states (no I/O).

A report never holds patient data: positions (line, segment, ST control number), scopes and
reasons that name fields. The rejected text itself goes only to ``<topic>.dlq``.

Every load ends in a terminal state, in its report and its load record:

- ``done``: the input was read to its end; ``accepted`` / ``rejected`` count its records;
- ``rejected``: the input as a whole was refused, nothing in it loaded (not readable as its
  format, a wrong header, every transaction set refused, validation could not be completed);
- ``failed``: the load could not finish - the broker did not confirm, the time budget
  (``LOAD_TIME_BUDGET_S``) ran out, an unexpected error, or its process stopped (the ownership
  sweep); ``error`` says why, and loading the same input again is safe (ids are deterministic);
- ``duplicate``: a claims file already loaded, not produced again.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from .records import Rejection

TERMINAL = frozenset({"done", "rejected", "failed", "duplicate"})
WHOLE_INPUT_SCOPES = frozenset({"file", "group", "transaction"})


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_load_id(kind: str, sha256: str | None = None) -> str:
    """``<kind>-<UTC second>-<file hash prefix>-<random>``: the same file loaded twice in one
    second (``force``) still gets two loads, two rows and two reports."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{(sha256 or uuid.uuid4().hex)[:10]}-{uuid.uuid4().hex[:6]}"


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


@dataclass(frozen=True)
class DeadLetter:
    """A rejected record for ``<topic>.dlq`` (``topic`` is the registry name, without a prefix):
    its raw text, the reason, and where it was (headers ``intake.*``)."""

    topic: str
    raw: bytes
    key: bytes
    reason: str
    headers: tuple[tuple[str, bytes], ...]


def dead_letter(topic: str, r: Rejection, *, load_id: str, file_name: str | None, fmt: str,
                head: bytes | None = None) -> DeadLetter:
    raw = r.raw.encode("utf-8", "replace") if r.raw else (head or b"")
    key = (r.key or file_name or load_id).encode()[:200]
    headers = [("intake.load_id", load_id.encode()), ("intake.format", fmt.encode()),
               ("intake.position", r.position.describe().encode()), ("intake.scope", r.scope.encode())]
    if file_name:
        headers.append(("intake.source_file", file_name.encode("utf-8", "replace")[:255]))
    return DeadLetter(topic, raw, key, r.reason, tuple(headers))
