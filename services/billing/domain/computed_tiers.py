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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from shared.events import RiskTierChangedV1

from .coverage import CoverageSpan
from .periods import month_start_on_or_after

History = tuple[tuple[date, str], ...]


def history_of(event: RiskTierChangedV1) -> History:
    return tuple((s.start, s.tier) for s in event.history)


def newer_histories(events: Sequence[RiskTierChangedV1], stored: Mapping[str, tuple[str, datetime]]
                    ) -> dict[str, RiskTierChangedV1]:
    """Each member's latest history among ``events`` (by decision day, then event time) that
    replaces the stored one (``stored``: member → (decided on, ISO date; occurred at)); an older
    decision arriving late replaces nothing."""
    latest: dict[str, RiskTierChangedV1] = {}
    for e in events:
        cur = latest.get(e.member_id)
        if cur is None or (e.decided_on, e.occurred_at) >= (cur.decided_on, cur.occurred_at):
            latest[e.member_id] = e
    return {mid: e for mid, e in latest.items()
            if mid not in stored or (e.decided_on.isoformat(), e.occurred_at) >= tuple(stored[mid])}


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
