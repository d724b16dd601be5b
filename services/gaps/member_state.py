"""Load and save what an evaluation needs, for many members at once (a few queries per batch).

``load_states(session, member_ids, period_start)`` → ``{member_id: MemberState}`` with the
roster snapshot, every claim version, the care transitions and the stored gaps of the period.
``lock_members`` serializes the evaluations of the same members across processes on
PostgreSQL (``SELECT ... FOR UPDATE`` in member-id order; SQLite locks the whole database on
write anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import upsert
from shared.events import CareTransitionCancelledV1, CareTransitionV1

from .domain import Member, StoredGap
from .store import (
    StoredClaim, claim_from_row, claim_versions, gaps, member_from_row, members, stored_gap_from_row,
    transition_events,
)

CHUNK = 1000


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@dataclass
class MemberState:
    member: Member | None = None
    claims: list[StoredClaim] = field(default_factory=list)
    transitions: list[Any] = field(default_factory=list)
    gaps: dict[str, StoredGap] = field(default_factory=dict)
    gap_rows: dict[str, dict] = field(default_factory=dict)


def lock_members(session: Session, member_ids: Iterable[str]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted(set(member_ids))
    for part in chunks(ids):
        session.execute(select(members.c.member_id).where(members.c.member_id.in_(part))
                        .order_by(members.c.member_id).with_for_update()).all()


_TRANSITION_MODELS = {"care.transition": CareTransitionV1, "care.transition_cancelled": CareTransitionCancelledV1}


def load_states(session: Session, member_ids: Iterable[str], period_start: date) -> dict[str, MemberState]:
    ids = sorted(set(member_ids))
    states: dict[str, MemberState] = {m: MemberState() for m in ids}
    for part in chunks(ids):
        for row in session.execute(select(members).where(members.c.member_id.in_(part))):
            states[row.member_id].member = member_from_row(row)
        for row in session.execute(
                select(claim_versions.c.event_id, claim_versions.c.member_id, claim_versions.c.claim_id,
                       claim_versions.c.frequency_code, claim_versions.c.original_claim_id,
                       claim_versions.c.occurred_at, claim_versions.c.facts)
                .where(claim_versions.c.member_id.in_(part))):
            states[row.member_id].claims.append(claim_from_row(row))
        for row in session.execute(select(transition_events.c.member_id, transition_events.c.event_type,
                                          transition_events.c.body)
                                   .where(transition_events.c.member_id.in_(part))):
            model = _TRANSITION_MODELS.get(row.event_type)
            if model is not None:
                states[row.member_id].transitions.append(model.model_validate_json(row.body))
        for row in session.execute(select(gaps).where(gaps.c.member_id.in_(part),
                                                      gaps.c.period_start == period_start)):
            st = states[row.member_id]
            st.gaps[row.gap_key] = stored_gap_from_row(row)
            st.gap_rows[row.gap_key] = row._asdict()
    return states


def write_gap_rows(session: Session, rows: list[dict]) -> None:
    for part in chunks(rows, 2000):
        upsert(session, gaps, list(part), ["gap_key"])
