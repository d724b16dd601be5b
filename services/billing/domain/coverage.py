"""Who is covered when, under which contract and tier: roster snapshots → member months.

Rules (all order-independent: the result depends on the *set* of snapshots, never on the
order they arrived in):

- Snapshots are ordered by event time (``occurred_at``, then ``recorded_at``, then event id).
- **Eligibility** comes from the latest snapshot: it is the member's whole truth, so a
  back-dated termination retroactively removes months. A ``termed`` snapshot whose span is
  still open ends that span on the snapshot's own date.
- **Attribution** (contract and risk tier) has history. When the latest snapshot carries
  ``attribution`` spans, they are the history: each span takes effect at the first month
  start on or after its ``start`` and the earliest span reaches back without limit (a span's
  ``end`` does not matter here: eligibility says which days count). Without spans, each
  snapshot's contract and tier take effect the same way from its event date, and the
  earliest snapshot's values reach back. So a tier change on 15 March changes April onward,
  and each month has exactly one contract and one tier.

``members.roster`` is compacted: a replay from the topic sees only the latest snapshot per
member. Its ``attribution`` spans carry the history, so the replay equals the live run;
snapshots without spans replay equal only when the contract and tier never changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from shared.events import MemberRosterV1

from .money import scale
from .periods import days_in, first_day, last_day, month_start_on_or_after, next_period, period_of

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CoverageSpan:
    """Eligible days ``start``..``end`` (inclusive; None = open) under one contract and tier."""

    start: date
    end: date | None
    contract_id: str
    tier: str


@dataclass(frozen=True, slots=True)
class MemberMonth:
    """One member's month under a contract: the eligible day runs (1-based, inclusive)."""

    member_id: str
    contract_id: str
    period: str
    tier: str
    runs: tuple[tuple[int, int], ...]
    days_in_month: int

    @property
    def eligible_days(self) -> int:
        return sum(b - a + 1 for a, b in self.runs)

    def covers_day(self, day: int) -> bool:
        return any(a <= day <= b for a, b in self.runs)


def roster_order(event: MemberRosterV1) -> tuple:
    return (event.occurred_at, event.recorded_at, str(event.event_id))


def _merge(spans: list[tuple[date, date | None]]) -> list[tuple[date, date | None]]:
    """Sort and merge overlapping or adjacent spans."""
    out: list[tuple[date, date | None]] = []
    for start, end in sorted(spans, key=lambda s: s[0]):
        if out:
            ps, pe = out[-1]
            if pe is None or start <= pe + _ONE_DAY:
                out[-1] = (ps, None if pe is None or end is None else max(pe, end))
                continue
        out.append((start, end))
    return out


def coverage_from_roster(snapshots: Iterable[MemberRosterV1]) -> tuple[CoverageSpan, ...]:
    """The member's coverage spans from all roster snapshots seen for the member."""
    unique = {s.event_id: s for s in snapshots}
    if not unique:
        return ()
    ordered = sorted(unique.values(), key=roster_order)
    latest = ordered[-1]
    as_of = latest.occurred_at.date()
    eligibility: list[tuple[date, date | None]] = []
    for span in latest.eligibility:
        end = span.end
        if latest.status == "termed" and end is None:
            end = as_of
        if end is None or end >= span.start:
            eligibility.append((span.start, end))
    segments = attribution_segments(ordered)
    spans: list[CoverageSpan] = []
    for start, end in _merge(eligibility):
        for i, (seg_start, contract_id, tier) in enumerate(segments):
            seg_end = segments[i + 1][0] - _ONE_DAY if i + 1 < len(segments) else None
            lo = max(start, seg_start)
            hi = end if seg_end is None else (seg_end if end is None else min(end, seg_end))
            if hi is None or lo <= hi:
                spans.append(CoverageSpan(lo, hi, contract_id, tier))
    return tuple(spans)


def attribution_segments(ordered: list[MemberRosterV1]) -> list[tuple[date, str, str]]:
    """(effective from, contract, tier) in order; the first reaches back without limit.

    From the latest snapshot's ``attribution`` spans when it has any, else from the
    snapshots themselves (``ordered`` oldest first).
    """
    latest = ordered[-1]
    if latest.attribution:
        changes = [(a.start, a.contract_id, a.risk_tier)
                   for a in sorted(latest.attribution, key=lambda a: (a.start, a.end or date.max))]
    else:
        changes = [(s.occurred_at.date(), s.contract_id, s.risk_tier) for s in ordered]
    segments: list[tuple[date, str, str]] = [(date.min, changes[0][1], changes[0][2])]
    for start, contract_id, tier in changes[1:]:
        eff = month_start_on_or_after(start)
        if eff <= segments[-1][0]:
            segments[-1] = (segments[-1][0], contract_id, tier)
        else:
            segments.append((eff, contract_id, tier))
    return segments


def member_months(
    member_id: str, coverage: Iterable[CoverageSpan], through: str, since: str | None = None
) -> list[MemberMonth]:
    """The member's months from ``since`` (default: the first covered) through ``through``.

    A span open at its end runs through ``through``. Within a month the contract and tier
    are the same for every span (attribution changes at month starts), so runs merge into one
    ``MemberMonth`` per period.
    """
    horizon = last_day(through)
    floor = first_day(since) if since else date.min
    by_period: dict[str, tuple[str, str, list[tuple[int, int]]]] = {}
    for span in coverage:
        lo = max(span.start, floor)
        hi = horizon if span.end is None else min(span.end, horizon)
        if hi < lo:
            continue
        period = period_of(lo)
        day = lo
        while day <= hi:
            month_end = last_day(period)
            stop = min(hi, month_end)
            entry = by_period.get(period)
            if entry is None:
                entry = (span.contract_id, span.tier, [])
                by_period[period] = entry
            entry[2].append((day.day, stop.day))
            day = stop + _ONE_DAY
            period = next_period(period)
    months = []
    for period in sorted(by_period):
        contract_id, tier, runs = by_period[period]
        runs.sort()
        merged: list[tuple[int, int]] = []
        for a, b in runs:
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        months.append(MemberMonth(member_id, contract_id, period, tier, tuple(merged), days_in(period)))
    return months


def member_month_share(rule: str, runs: tuple[tuple[int, int], ...], days_in_month: int) -> Fraction:
    """How much of a member month the runs count for: 1 (``any_day``) or days ÷ month days."""
    if not runs:
        return Fraction(0)
    if rule == "any_day":
        return Fraction(1)
    return Fraction(sum(b - a + 1 for a, b in runs), days_in_month)


def pmpm_fee_cents(rule: str, fee_cents: int, runs: tuple[tuple[int, int], ...], days_in_month: int,
                   rounding: str = "half_even") -> int:
    """The fee for one member month: the full fee (``any_day``) or, prorated, the fee times the
    member-month fraction (eligible days ÷ days in the month) rounded once — the same fraction
    the benchmark and PMPM bonuses use (``member_month_share``)."""
    if not runs:
        return 0
    if rule == "any_day":
        return fee_cents
    return scale(fee_cents, member_month_share(rule, runs, days_in_month), rounding)
