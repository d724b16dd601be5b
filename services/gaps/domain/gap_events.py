"""Status-change detection: which gap events an evaluation emits.

Rules:
- ``open`` → ``GapOpenedV1``; ``closed`` / ``due_soon`` → ``GapClosedV1`` (with its status);
  ``excluded`` / ``not_applicable`` → ``GapExcludedV1``, only when the gap had been open,
  closed or due soon (a man is never announced as "not applicable" for breast screening).
- An event only when the status changes, or when an announced gap (open / closed / due soon)
  moves to another practice or contract: the same status is announced again with the new
  attribution, so the gap follows the member's current practice.
- A stored gap of the evaluated period and measures that the evaluation no longer produces
  (its discharge was voided or cancelled) becomes ``not_applicable``.

Event ids are deterministic: ``derive_id(cause_event_id, f"gap:{gap_key}:{status}")`` (plus
``:{practice}:{contract}`` for a re-announcement). Replaying the same cause gives the same id
(downstream dedupes it); a later cause that closes the same gap again (closed → open by a void →
closed) gets a new id, so it is not mistaken for a duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from shared.events import Evidence, GapClosedV1, GapExcludedV1, GapOpenedV1, derive_id

from .history import Member
from .results import MeasureResult

ANNOUNCED = frozenset({"open", "closed", "due_soon"})
GapEvent = GapOpenedV1 | GapClosedV1 | GapExcludedV1


@dataclass(slots=True)
class StoredGap:
    """What the gaps store keeps per gap between evaluations.

    Not frozen (nothing mutates one; ``dataclasses.replace`` makes a changed copy): a backfill
    builds them by the hundred thousand, and a frozen dataclass costs several times as much to
    build."""

    gap_key: str
    measure_id: str
    period_start: date
    status: str
    practice_id: str = ""
    contract_id: str = ""
    instance_id: str | None = None
    reason: str = ""
    measure_version: str = ""
    period_end: date | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class GapDiff:
    events: tuple[GapEvent, ...]
    stored: dict[str, StoredGap]  # the member's gaps after this evaluation, by gap key
    changed: tuple[str, ...]  # gap keys whose stored row differs from before


def _stored(member: Member, r: MeasureResult) -> StoredGap:
    # Positional: built for every result of every evaluation.
    return StoredGap(r.gap_key(member.member_id), r.measure_id, r.period_start, r.status, member.practice_id,
                     member.contract_id, r.instance_id, r.reason, r.measure_version, r.period_end, r.due_date)


def diff_statuses(
    member: Member,
    previous: Mapping[str, StoredGap],
    results: Iterable[MeasureResult],
    *,
    cause_event_id: uuid.UUID | str,
    occurred_at: datetime,
    source: str = "gaps",
    recorded_at: datetime | None = None,
    period_start: date | None = None,
    measures: Iterable[str] | None = None,
) -> GapDiff:
    """Events to emit and the rows to keep, given the stored gaps and a new evaluation.

    ``period_start`` / ``measures`` bound which stored gaps the evaluation covered (default:
    those of the results); stored gaps of other periods are left alone.
    """
    results = list(results)
    covered_measures = set(measures) if measures is not None else {r.measure_id for r in results}
    periods = {period_start} if period_start else {r.period_start for r in results}
    new_rows: dict[str, StoredGap] = {}
    by_key: dict[str, MeasureResult] = {}
    for r in results:
        row = _stored(member, r)
        by_key[row.gap_key] = r
        new_rows[row.gap_key] = row
    # Gaps the evaluation no longer produces (a withdrawn discharge): not applicable now.
    vanished: dict[str, StoredGap] = {}
    for key, old in previous.items():
        if key in new_rows:
            continue
        if old.measure_id in covered_measures and old.period_start in periods and old.status != "not_applicable":
            vanished[key] = replace(old, status="not_applicable", practice_id=member.practice_id,
                                    contract_id=member.contract_id,
                                    reason="not in the denominator: the event this gap was about was withdrawn")
    stored = dict(previous)
    stored.update(new_rows)
    stored.update(vanished)

    events: list[GapEvent] = []
    changed: list[str] = []
    for key in sorted(set(new_rows) | set(vanished)):
        row = new_rows.get(key) or vanished[key]
        old = previous.get(key)
        if old != row:
            changed.append(key)
        old_status = old.status if old else None
        kind = None
        if row.status != old_status:
            if row.status in ANNOUNCED or old_status in ANNOUNCED:
                kind = f"gap:{key}:{row.status}"
        elif row.status in ANNOUNCED and old is not None and (
                old.practice_id, old.contract_id) != (row.practice_id, row.contract_id):
            kind = f"gap:{key}:{row.status}:{row.practice_id}:{row.contract_id}"
        if kind is None:
            continue
        events.append(_event(member, row, by_key.get(key), derive_id(cause_event_id, kind),
                             cause_event_id, occurred_at, source, recorded_at or occurred_at))
    return GapDiff(tuple(events), stored, tuple(changed))


def _event(member: Member, row: StoredGap, result: MeasureResult | None, event_id: uuid.UUID,
           cause: uuid.UUID | str, occurred_at: datetime, source: str, recorded_at: datetime) -> GapEvent:
    cls = {"open": GapOpenedV1, "closed": GapClosedV1, "due_soon": GapClosedV1}.get(row.status, GapExcludedV1)
    causation = cause if isinstance(cause, uuid.UUID) else None
    fields = dict(
        cls.envelope(occurred_at=occurred_at, source=source, member_id=member.member_id,
                     causation_id=causation, event_id=event_id, recorded_at=recorded_at),
        gap_key=row.gap_key,
        measure_id=row.measure_id,
        measure_version=row.measure_version or (result.measure_version if result else ""),
        period_start=row.period_start,
        period_end=row.period_end or (result.period_end if result else row.period_start),
        instance_id=row.instance_id,
        reason=row.reason[:500],
        evidence=tuple(Evidence(**e.as_event_fields()) for e in (result.evidence if result else ())),
        due_date=row.due_date,
        practice_id=member.practice_id,
        contract_id=member.contract_id,
        status=row.status,
    )
    if cls is GapClosedV1:
        fields["lapses_on"] = result.lapses_on if result else None
    return cls(**fields)
