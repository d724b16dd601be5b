"""Computed risk tiers from the risk service (``risk.tiers``) in the priority of a member's tasks.

The risk service publishes a member's computed tier history (tiers by the day they take effect)
where the contract lets the computed tier rule. Outreach keeps the latest history per member;
a task's priority reads the tier in force on the queue's day, falling back to the roster's tier
before the first span (or when no history came). A new history re-scores the member's open
tasks at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import JSON, Column, String, Table, select
from sqlalchemy.orm import Session

from shared.db import UtcDateTime, upsert
from shared.events import RiskTierChangedV1

from .store import metadata

member_risk_tiers = Table(
    "member_risk_tiers", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("decided_on", String(10), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("history", JSON, nullable=False),
)

History = tuple[tuple[date, str], ...]


def store_events(session: Session, events: Sequence[RiskTierChangedV1]) -> dict[str, History]:
    """Keep each member's latest history (by decision day, then event time); returns the new ones."""
    latest: dict[str, RiskTierChangedV1] = {}
    for e in events:
        cur = latest.get(e.member_id)
        if cur is None or (e.decided_on, e.occurred_at) >= (cur.decided_on, cur.occurred_at):
            latest[e.member_id] = e
    if not latest:
        return {}
    t = member_risk_tiers.c
    stored = {m: (d, at) for m, d, at in session.execute(
        select(t.member_id, t.decided_on, t.occurred_at).where(t.member_id.in_(sorted(latest))))}
    out: dict[str, History] = {}
    rows = []
    for mid, e in latest.items():
        if mid in stored and (e.decided_on.isoformat(), e.occurred_at) < stored[mid]:
            continue   # an older decision arriving late
        out[mid] = tuple((s.start, s.tier) for s in e.history)
        rows.append({"member_id": mid, "decided_on": e.decided_on.isoformat(), "occurred_at": e.occurred_at,
                     "history": [[s.start.isoformat(), s.tier] for s in e.history]})
    upsert(session, member_risk_tiers, rows, ["member_id"])
    return out


def load(session: Session, members: Iterable[str]) -> dict[str, History]:
    ids = sorted(set(members))
    out: dict[str, History] = {}
    t = member_risk_tiers.c
    for i in range(0, len(ids), 1000):
        for mid, history in session.execute(select(t.member_id, t.history).where(t.member_id.in_(ids[i:i + 1000]))):
            out[mid] = tuple((date.fromisoformat(d), tier) for d, tier in history)
    return out


def tier_on(history: History, day: date, fallback: str) -> str:
    tier = fallback
    for start, t in sorted(history):
        if start <= day:
            tier = t
    return tier
