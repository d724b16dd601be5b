"""Rows of the gaps tables (``tables.py``) <-> the domain and the events.

Roster snapshots are kept whole (``body``, without the envelope) with a hash that tells a changed
member from an unchanged one; a claim version keeps the few fields the measure engine reads as a
compact JSON (``facts``), read back without pydantic (``StoredClaim``); a gap row keeps its
evidence as JSON in the fields of ``domain.EvidenceItem``. ``storable`` refuses a row with a NUL
character (PostgreSQL refuses it in text) as bad input before any statement writes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from shared.errors import InvalidEvent

from ..domain import EvidenceItem, MeasureResult, Member, StoredGap


def storable(row: dict, what: str) -> dict:
    """The row, or ``InvalidEvent`` when a text holds a NUL character: PostgreSQL refuses it, and
    a refusal the consumer takes for a passing database error would be retried forever."""
    for value in row.values():
        if isinstance(value, str) and ("\x00" in value or "\\u0000" in value):
            raise InvalidEvent(f"the {what} contains a NUL character, which the database cannot store")
    return row


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


def transition_row(event) -> dict[str, Any]:
    return {"event_id": str(event.event_id), "member_id": event.member_id, "transition_id": str(event.transition_id),
            "event_type": event.event_type, "occurred_at": event.occurred_at, "body": event.model_dump_json()}


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
    occurred_at, facts (``states.load_states``), read by position."""
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
    (``states._GAP_COLUMNS``); read by position, a few hundred thousand times a backfill."""
    key, _member, measure, start, status, practice, contract, instance, reason, version, end, due = row[:12]
    return StoredGap(key, measure, start, status, practice, contract, instance, reason, version, end, due)


_EVIDENCE_FIELDS = tuple(f.name for f in fields(EvidenceItem))


def evidence_json(items) -> str:
    """``domain.EvidenceItem``s as the ``gaps.evidence`` column keeps them (its fields, dates ISO)."""
    return json.dumps([{name: getattr(e, name) for name in _EVIDENCE_FIELDS} for e in items],
                      separators=(",", ":"), default=date.isoformat)


def evidence_from_json(text: str) -> tuple[EvidenceItem, ...]:
    return tuple(EvidenceItem(**{**{k: e.get(k) for k in _EVIDENCE_FIELDS}, "date": date.fromisoformat(e["date"])})
                 for e in json.loads(text or "[]"))


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
