"""Computed risk tiers from the risk service (``risk.tiers``) in billing's PMPM fee.

The risk service publishes a member's computed tier history (each tier with the day it takes
effect) for contracts where the computed tier rules (for the others it publishes nothing and
the roster's tier stays). Billing keeps the latest history per member and lays it over the
coverage the roster gives: from a history span's start (rounded to a month start, as roster
tier changes are) the member's months carry the computed tier; before the first span the
roster's tier holds. A new history re-accrues the member like a roster snapshot does; the
ledger's keyed entries make the fee change post as a reversal and a new entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import JSON, Column, String, Table, select
from sqlalchemy.orm import Session

from shared.db import UtcDateTime, upsert
from shared.events import RiskTierChangedV1

from .domain.coverage import CoverageSpan
from .domain.periods import month_start_on_or_after
from .store import metadata

risk_tier_histories = Table(
    "risk_tier_histories", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("decided_on", String(10), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("history", JSON, nullable=False),
)

History = tuple[tuple[date, str], ...]


def store(session: Session, events: Sequence[RiskTierChangedV1]) -> list[str]:
    """Keep each member's latest history (by decision day, then event time); the members whose
    stored history changed."""
    latest: dict[str, RiskTierChangedV1] = {}
    for e in events:
        cur = latest.get(e.member_id)
        if cur is None or (e.decided_on, e.occurred_at) >= (cur.decided_on, cur.occurred_at):
            latest[e.member_id] = e
    if not latest:
        return []
    t = risk_tier_histories.c
    stored = {m: (d, at) for m, d, at in session.execute(
        select(t.member_id, t.decided_on, t.occurred_at).where(t.member_id.in_(sorted(latest))))}
    rows = []
    for mid, e in latest.items():
        if mid in stored and (e.decided_on.isoformat(), e.occurred_at) < stored[mid]:
            continue   # an older decision arriving late
        rows.append({"member_id": mid, "event_id": str(e.event_id), "decided_on": e.decided_on.isoformat(),
                     "occurred_at": e.occurred_at,
                     "history": [[s.start.isoformat(), s.tier] for s in e.history]})
    upsert(session, risk_tier_histories, rows, ["member_id"])
    return sorted(r["member_id"] for r in rows)


def load(session: Session, members: Iterable[str]) -> dict[str, tuple[str, History]]:
    """member → (event id, history) for the members that have one."""
    ids = sorted(set(members))
    out: dict[str, tuple[str, History]] = {}
    t = risk_tier_histories.c
    for i in range(0, len(ids), 1000):
        for mid, eid, history in session.execute(select(t.member_id, t.event_id, t.history)
                                                 .where(t.member_id.in_(ids[i:i + 1000]))):
            out[mid] = (eid, tuple((date.fromisoformat(d), tier) for d, tier in history))
    return out


def overlay(coverage: Iterable[CoverageSpan], history: History) -> tuple[CoverageSpan, ...]:
    """The coverage with the computed tiers in force from their (month-start) effective dates."""
    changes = sorted((month_start_on_or_after(d), tier) for d, tier in history)
    if not changes:
        return tuple(coverage)
    out: list[CoverageSpan] = []
    for span in coverage:
        cuts = [d for d, _ in changes if d > span.start and (span.end is None or d <= span.end)]
        starts = [span.start, *cuts]
        for i, lo in enumerate(starts):
            hi = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else span.end
            tier = span.tier
            for d, t in changes:
                if d <= lo:
                    tier = t
            out.append(replace(span, start=lo, end=hi, tier=tier))
    return tuple(out)
