"""What the parsers yield: a parsed claim or roster row, a rejection, a progress report.

Rejection reasons name the field or segment that is wrong, never its value, so a report can
be logged and shown without patient data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import ValidationError

from shared.events import ClaimV2, MemberRosterV1

ENVELOPE_FIELDS = frozenset({
    "event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source",
    "patient_key", "causation_id",
})
_PLACEHOLDER_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
_BODY_EXCLUDE = ENVELOPE_FIELDS | {"source_file"}


@dataclass(frozen=True)
class Position:
    """Where a record sits in its file: X12 (ST control number, segment number in the
    transaction set, claim ordinal) or CSV (line numbers)."""

    source_file: str | None = None
    st_control_number: str | None = None
    segment_number: int | None = None
    claim_index: int | None = None
    lines: tuple[int, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.st_control_number is not None:
            parts.append(f"ST {self.st_control_number}")
        if self.segment_number is not None:
            parts.append(f"segment {self.segment_number}")
        if self.claim_index is not None:
            parts.append(f"claim #{self.claim_index}")
        if self.lines:
            parts.append("line " + ", ".join(map(str, self.lines)) if len(self.lines) < 6
                         else f"lines {self.lines[0]}-{self.lines[-1]}")
        return " ".join(parts) or "file"


@dataclass(frozen=True)
class Rejection:
    """Input that was not loaded. ``scope``: file, group, transaction, claim, line or row.

    ``raw``: the rejected text as it was in the file (X12 segments of the claim with its
    subscriber loop, or of the whole transaction set; CSV header + rows), for the dead-letter
    topic - never for logs or reports. ``key``: the member id when the parser got that far
    (the dead letter's Kafka key; a full roster load counts the member as present).
    ``covered``: the text is dead-lettered with another rejection (a bad CSV line is part of
    the claim that is rejected with it), so this one is only reported.
    """

    reason: str
    position: Position
    scope: Literal["file", "group", "transaction", "claim", "line", "row"] = "claim"
    raw: str | None = field(default=None, repr=False, compare=False)
    key: str | None = field(default=None, repr=False, compare=False)
    covered: bool = False

    def __str__(self) -> str:
        return f"{self.position.describe()}: {self.reason}"


@dataclass(frozen=True)
class ParsedClaim:
    """One claim version, validated: ``model`` is the ``ClaimV2`` with a placeholder envelope
    (``fields`` its body fields, computed on first use).

    ``created_at``: when the sender built the transaction (X12 BHT04/05), the event's
    ``occurred_at`` (the claim's own ``submitted_at`` carries it too: that one orders versions).
    """

    model: ClaimV2 = field(repr=False)
    position: Position
    created_at: datetime | None = None

    @cached_property
    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model.model_dump().items() if k not in ENVELOPE_FIELDS}

    @property
    def claim_id(self) -> str:
        return self.model.claim_id

    @property
    def member_id(self) -> str:
        return self.model.member_id

    @property
    def line_count(self) -> int:
        return len(self.model.lines)

    def body_json(self) -> bytes:
        """The body fields as JSON (no envelope, no source file): what the claim says."""
        return self.model.model_dump_json(exclude=_BODY_EXCLUDE).encode()

    def to_event(self, **envelope: Any) -> ClaimV2:
        """``ClaimV2`` with the envelope the wiring chooses (``ClaimV2.envelope(...)`` output).

        The body was validated already; the envelope comes from ``ClaimV2.envelope`` and is
        checked here, so the copy is not validated a second time."""
        envelope.pop("member_id", None)
        unknown = set(envelope) - ENVELOPE_FIELDS
        if unknown:
            raise TypeError(f"not envelope fields: {', '.join(sorted(unknown))}")
        for name in ("occurred_at", "recorded_at"):
            value = envelope.get(name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(f"{name} must be a timezone-aware datetime")
        if not isinstance(envelope.get("event_id"), uuid.UUID) or not envelope.get("source"):
            raise ValueError("event_id must be a UUID and source non-empty")
        if envelope.get("event_type") != self.model.event_type:
            raise ValueError(f"the envelope must name the claim's event type ({self.model.event_type})")
        envelope["schema_version"] = self.model.schema_version  # the body's version, whichever envelope
        return self.model.model_copy(update=envelope)


@dataclass(frozen=True)
class ParsedRoster:
    """One roster row's ``MemberRosterV1`` body fields, validated."""

    fields: dict[str, Any]
    line_number: int

    @property
    def member_id(self) -> str:
        return self.fields["member_id"]

    def to_event(self, **envelope: Any) -> MemberRosterV1:
        envelope.pop("member_id", None)
        return MemberRosterV1(**envelope, **self.fields)


@dataclass
class Progress:
    """Reported to ``on_progress`` every few thousand segments/rows and once at the end."""

    bytes_read: int = 0
    total_bytes: int | None = None
    units: int = 0  # segments (X12) or data rows (CSV)
    accepted: int = 0
    rejected: int = 0
    lines: int = 0  # claim service lines accepted
    done: bool = False

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(1.0, self.bytes_read / self.total_bytes)


ProgressCallback = Callable[[Progress], None]


def validation_reason(exc: ValidationError, limit: int = 3) -> str:
    """Field paths and pydantic's messages, never the offending input (an unknown field's own
    name is input too: it is left out of the path)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        loc = list(err.get("loc", ()))
        if err.get("type") == "extra_forbidden" and loc:
            loc[-1] = "(an unknown field)"
        text = ".".join(str(x) for x in loc) or "record"
        parts.append(f"{text}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _placeholder(cls: type) -> dict[str, Any]:
    f = cls.model_fields
    return dict(event_id=uuid.UUID(int=0), event_type=f["event_type"].default,
                schema_version=f["schema_version"].default, occurred_at=_PLACEHOLDER_TIME,
                recorded_at=_PLACEHOLDER_TIME, source="ingest-validation")


_CLAIM_ENV = _placeholder(ClaimV2)
_ROSTER_ENV = _placeholder(MemberRosterV1)


def validate_claim(fields: dict[str, Any]) -> ClaimV2 | str:
    """The claim with a placeholder envelope, validated, or the reason it is invalid."""
    try:
        return ClaimV2(**_CLAIM_ENV, **fields)
    except ValidationError as exc:
        return validation_reason(exc)
    except TypeError:
        return "unexpected field"


def validate_claim_fields(fields: dict[str, Any]) -> dict[str, Any] | str:
    """Validated, normalized body fields, or the reason they are invalid."""
    model = validate_claim(fields)
    if isinstance(model, str):
        return model
    return {k: v for k, v in model.model_dump().items() if k not in ENVELOPE_FIELDS}


def validate_roster_fields(fields: dict[str, Any]) -> dict[str, Any] | str:
    try:
        model = MemberRosterV1(**_ROSTER_ENV, **fields)
    except ValidationError as exc:
        return validation_reason(exc)
    return {k: v for k, v in model.model_dump().items() if k not in ENVELOPE_FIELDS}
