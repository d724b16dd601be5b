"""Gaps tables (one MetaData) and the row <-> domain mappings.

- ``members``: the latest roster snapshot per member (event time decides which is latest);
  the body is kept whole so a full roster load can term a member by re-emitting it.
- ``claim_versions``: every claim version received (original, replacement, void), with the
  few fields the measure engine reads in a compact JSON (``facts``): the claim book is
  rebuilt from these rows, so a void or a replacement is applied by recomputing, never by
  editing a stored result.
- ``transition_events``: care transitions and their cancels (follow-up after discharge).
- ``gaps``: one row per gap (member, measure, period [, discharge]) with the status, the
  reason, the evidence and the attribution last announced.
- ``ingest_loads``: every file / API load and its report (a re-sent claims file is found by
  its SHA-256).
- ``maintenance_runs``: which day the daily re-evaluation last ran.
- ``processed_events`` and ``audit_log`` from ``shared``.

Free text goes to ``Text`` columns so an over-long value never becomes a database error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column, Date, Index, Integer, MetaData, String, Table, Text,
)

from shared.audit import audit_table
from shared.db import UtcDateTime, processed_events_table

from .domain import EvidenceItem, MeasureResult, Member, StoredGap

metadata = MetaData()


members = Table(
    "members", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("status", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("pcp_practice_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("pod", String(64), nullable=True),
    Column("body", Text, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_members_status", "status"),
)

claim_versions = Table(
    "claim_versions", metadata,
    # (member, event): one index serves both the dedupe (ON CONFLICT) and the per-member reads.
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("claim_id", String(64), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("original_claim_id", String(64), nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("claim_type", String(16), nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("facts", Text, nullable=False),
    Column("source_file", Text, nullable=True),
)

transition_events = Table(
    "transition_events", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("transition_id", String(36), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("body", Text, nullable=False),
)

gaps = Table(
    "gaps", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("gap_key", String(200), primary_key=True),
    Column("measure_id", String(16), nullable=False),
    Column("measure_version", String(64), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("instance_id", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("due_date", Date, nullable=True),
    Column("lapses_on", Date, nullable=True),
    Column("practice_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("cause_event_id", String(36), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_gaps_rates", "period_start", "measure_id", "status"),
)

ingest_loads = Table(
    "ingest_loads", metadata,
    Column("load_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # roster | claims
    Column("format", String(8), nullable=False),  # csv | x12 | json
    Column("mode", String(8), nullable=False),  # full | partial (rosters); - (claims)
    Column("file_name", Text, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("accepted", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("lines", Integer, nullable=False, default=0),
    Column("report", Text, nullable=True),
    Index("ix_ingest_loads_sha", "kind", "sha256"),
)

maintenance_runs = Table(
    "maintenance_runs", metadata,
    Column("job", String(64), primary_key=True),
    Column("last_day", Date, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)

processed = processed_events_table(metadata)
audit = audit_table(metadata)


# ---------------------------------------------------------------------------- roster rows
ROSTER_ENVELOPE = frozenset({
    "event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source", "patient_key",
    "causation_id", "roster_load_id",
})


def roster_body(event) -> dict[str, Any]:
    """A roster snapshot's member fields as JSON types (no envelope, no load id)."""
    return event.model_dump(mode="json", exclude=ROSTER_ENVELOPE)


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def member_row(event, now: datetime) -> dict[str, Any]:
    body = roster_body(event)
    return {
        "member_id": event.member_id, "event_id": str(event.event_id), "occurred_at": event.occurred_at,
        "status": event.status, "birth_date": event.birth_date, "sex": event.sex,
        "pcp_practice_id": event.pcp_practice_id, "contract_id": event.contract_id, "pod": event.pod,
        "body": json.dumps(body, separators=(",", ":")), "body_hash": body_hash(body), "updated_at": now,
    }


def member_from_row(row) -> Member:
    return Member(member_id=row.member_id, birth_date=row.birth_date, sex=row.sex,
                  practice_id=row.pcp_practice_id, contract_id=row.contract_id, status=row.status)


# ---------------------------------------------------------------------------- claim rows
@dataclass(slots=True)
class StoredLine:
    """The parts of a ``ClaimLine`` the measure engine reads (not frozen: built by the hundred
    thousand, and a frozen dataclass costs four times as much to build; nothing mutates it)."""

    line_number: int
    procedure_code: str | None
    revenue_code: str | None
    service_date: date
    place_of_service: str | None
    modifiers: tuple[str, ...]


@dataclass(slots=True)
class StoredClaim:
    """A claim version as the engine reads it (duck-types ``ClaimV1`` for ``ClaimBook`` and
    ``history_from_claims``): built from a ``claim_versions`` row without pydantic."""

    event_id: str
    claim_id: str
    frequency_code: str
    original_claim_id: str | None
    occurred_at: datetime
    claim_type: str
    place_of_service: str | None
    type_of_bill: str | None
    admission_date: date | None
    discharge_date: date | None
    discharge_status: str | None
    statement_from: date | None
    diagnoses: tuple[str, ...]
    lines: tuple[StoredLine, ...]
    # what the version says about when it was made (``shared.claim_versions.stamp``)
    version_sequence: int | None = None
    adjudication_date: date | None = None
    received_date: date | None = None
    submitted_at: datetime | None = None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


_fromiso = date.fromisoformat


def _day(text: str | None) -> date | None:
    return _fromiso(text) if text else None


def claim_row(event) -> dict[str, Any]:
    facts = {
        "t": event.claim_type, "pos": event.place_of_service, "tob": event.type_of_bill,
        "ad": _iso(event.admission_date), "dd": _iso(event.discharge_date), "ds": event.discharge_status,
        "sf": _iso(event.statement_from), "dx": list(event.diagnoses),
        "l": [[ln.line_number, ln.procedure_code, ln.revenue_code, ln.service_date.isoformat(), ln.place_of_service,
               list(ln.modifiers)] for ln in event.lines],
    }
    stamps = _stamps(event)
    if stamps:
        facts["v"] = stamps
    return {
        "event_id": str(event.event_id), "member_id": event.member_id, "claim_id": event.claim_id,
        "frequency_code": event.frequency_code, "original_claim_id": event.original_claim_id,
        "occurred_at": event.occurred_at, "claim_type": event.claim_type, "line_count": len(event.lines),
        "facts": json.dumps(facts, separators=(",", ":")), "source_file": event.source_file,
    }


def _stamps(event) -> list | None:
    """[version sequence, adjudication date, received date, submitted at] (claim.submitted v2),
    or None when the claim says none of them."""
    seq = getattr(event, "version_sequence", None)
    adj, rcv, sub = (getattr(event, n, None) for n in ("adjudication_date", "received_date", "submitted_at"))
    if seq is None and adj is None and rcv is None and sub is None:
        return None
    return [seq, _iso(adj), _iso(rcv), sub.isoformat() if sub is not None else None]


def claim_from_row(row) -> StoredClaim:
    """From a row of event_id, member_id, claim_id, frequency_code, original_claim_id,
    occurred_at, facts (``member_state.load_states``), read by position."""
    event_id, _member, claim_id, frequency, original, occurred_at, facts = row
    f = json.loads(facts)
    seq, adj, rcv, sub = f.get("v") or (None, None, None, None)
    return StoredClaim(
        event_id, claim_id, frequency, original, occurred_at, f["t"], f["pos"], f["tob"], _day(f["ad"]),
        _day(f["dd"]), f["ds"], _day(f["sf"]), tuple(f["dx"]),
        tuple([StoredLine(n, proc, rev, _fromiso(d), pos, tuple(mods)) for n, proc, rev, d, pos, mods in f["l"]]),
        seq, _day(adj), _day(rcv), datetime.fromisoformat(sub) if sub else None,
    )


# ---------------------------------------------------------------------------- gap rows
def stored_gap_from_row(row) -> StoredGap:
    """From a row of ``gaps`` columns in the order gap_key, member_id, measure_id, period_start,
    status, practice_id, contract_id, instance_id, reason, measure_version, period_end, due_date
    (``member_state._GAP_COLUMNS``); read by position, a few hundred thousand times a backfill."""
    key, _member, measure, start, status, practice, contract, instance, reason, version, end, due = row[:12]
    return StoredGap(key, measure, start, status, practice, contract, instance, reason, version, end, due)


def evidence_json(items) -> str:
    return json.dumps([{"code": e.code, "code_system": e.code_system, "date": e.date.isoformat(),
                        "claim_id": e.claim_id, "value": e.value, "description": e.description} for e in items],
                      separators=(",", ":"))


def evidence_from_json(text: str) -> list[EvidenceItem]:
    return [EvidenceItem(code=e["code"], code_system=e["code_system"], date=date.fromisoformat(e["date"]),
                         claim_id=e.get("claim_id"), value=e.get("value"), description=e.get("description"))
            for e in json.loads(text or "[]")]


def gap_row(member_id: str, gap: StoredGap, result: MeasureResult | None, previous_evidence: str | None,
            cause_event_id: str | None, now: datetime) -> dict[str, Any]:
    """The row to write for a gap whose stored state changed. A gap the evaluation no longer
    produced (``result`` None) keeps its last evidence."""
    if result is not None:
        evidence, lapses_on = evidence_json(result.evidence), result.lapses_on
    else:
        evidence = previous_evidence or "[]"
        lapses_on = None
    return {
        "gap_key": gap.gap_key, "member_id": member_id, "measure_id": gap.measure_id,
        "measure_version": gap.measure_version or (result.measure_version if result else ""),
        "period_start": gap.period_start, "period_end": gap.period_end or gap.period_start,
        "instance_id": gap.instance_id, "status": gap.status, "reason": gap.reason, "evidence": evidence,
        "due_date": gap.due_date, "lapses_on": lapses_on, "practice_id": gap.practice_id,
        "contract_id": gap.contract_id, "cause_event_id": cause_event_id, "updated_at": now,
    }
