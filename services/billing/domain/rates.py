"""Measure rates and the readmission rate as of a date, folded from events (event time).

These are the reference definitions; a store may compute the same with SQL over its copy of
the latest status per gap. Both depend only on the set of events with event time on or
before ``as_of``, so a replay gives the same rates as the live run.

Measure rate: per gap (``gap_key``: member, measure, period[, instance]) the latest status by
event time counts, in the contract that latest event names: a gap re-announced under a new
contract leaves the old contract's rates (events of every contract are read, then the latest
one per gap is attributed to its contract). Open and closed
(``closed``/``due_soon``) gaps are in the denominator; excluded / not-applicable ones are not.
The numerator is the closed gaps — except for inverse measures (CMS122), whose numerator is
the open gaps (HbA1c poorly controlled or not tested), so their rate is "lower is better".

Readmission rate: unplanned 30-day readmissions ÷ index discharges, both dated in
[``start``, ``as_of``]; a cancelled discharge (A13) leaves the denominator, a retracted
readmission the numerator.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from shared.events import CareTransitionCancelledV1, CareTransitionV1, GapClosedV1, GapExcludedV1, GapOpenedV1, ReadmissionV1

from .facts import MeasureRate, MetricValue
from .measure_catalog import INVERSE_MEASURES

GapEvent = GapOpenedV1 | GapClosedV1 | GapExcludedV1


def _order(e) -> tuple:
    return (e.occurred_at, e.recorded_at, str(e.event_id))


def measure_rates(gap_events: Iterable[GapEvent], contract_id: str, as_of: date) -> dict[str, MeasureRate]:
    """Measure id → (numerator, denominator) for gaps whose measurement period holds ``as_of``."""
    latest: dict[str, GapEvent] = {}
    for e in gap_events:
        if e.occurred_at.date() > as_of:
            continue
        prior = latest.get(e.gap_key)
        if prior is None or _order(e) > _order(prior):
            latest[e.gap_key] = e
    tally: dict[str, list[int]] = {}
    for e in latest.values():
        if e.contract_id != contract_id or not e.period_start <= as_of <= e.period_end:
            continue
        if e.status in ("excluded", "not_applicable"):
            continue
        counts = tally.setdefault(e.measure_id, [0, 0])
        counts[1] += 1
        is_open = e.status == "open"
        if is_open == (e.measure_id in INVERSE_MEASURES):
            counts[0] += 1
    return {m: MeasureRate(n, d) for m, (n, d) in sorted(tally.items())}


def measure_rates_series(
    gap_events: Iterable[GapEvent], contract_id: str, as_of: Iterable[date]
) -> dict[date, dict[str, MeasureRate]]:
    """``measure_rates`` for several dates in one pass over the events (month close computes a
    year of months at once). Same answers as calling ``measure_rates`` for each date. The
    events of every contract are needed (a gap's latest event may name another contract)."""
    events = sorted(gap_events, key=_order)
    latest: dict[str, GapEvent] = {}
    # (measure, period_start, period_end) -> [numerator, denominator] over the latest statuses
    tally: dict[tuple[str, date, date], list[int]] = {}

    def count(e: GapEvent, sign: int) -> None:
        if e.contract_id != contract_id or e.status in ("excluded", "not_applicable"):
            return
        t = tally.setdefault((e.measure_id, e.period_start, e.period_end), [0, 0])
        t[1] += sign
        if (e.status == "open") == (e.measure_id in INVERSE_MEASURES):
            t[0] += sign

    out: dict[date, dict[str, MeasureRate]] = {}
    i = 0
    for day in sorted(set(as_of)):
        while i < len(events) and events[i].occurred_at.date() <= day:
            e = events[i]
            i += 1
            prior = latest.get(e.gap_key)
            if prior is not None:
                count(prior, -1)
            latest[e.gap_key] = e
            count(e, +1)
        rates: dict[str, list[int]] = {}
        for (measure, start, end), (n, d) in tally.items():
            if start <= day <= end and d:
                r = rates.setdefault(measure, [0, 0])
                r[0] += n
                r[1] += d
        out[day] = {m: MeasureRate(n, d) for m, (n, d) in sorted(rates.items())}
    return out


def readmission_rate(
    transitions: Iterable[CareTransitionV1 | CareTransitionCancelledV1],
    readmissions: Iterable[ReadmissionV1],
    contract_id: str,
    start: date,
    as_of: date,
) -> MetricValue | None:
    """Readmissions ÷ index discharges in [start, as_of] (None when there is no index discharge)."""
    latest_t: dict[str, CareTransitionV1 | CareTransitionCancelledV1] = {}
    for t in transitions:
        if t.occurred_at.date() > as_of:
            continue
        k = str(t.transition_id)
        if k not in latest_t or _order(t) > _order(latest_t[k]):
            latest_t[k] = t
    index = 0
    for t in latest_t.values():
        if isinstance(t, CareTransitionV1):
            if t.contract_id == contract_id and t.index_stay and start <= t.discharge_time.date() <= as_of:
                index += 1
    latest_r: dict[str, ReadmissionV1] = {}
    for r in readmissions:
        if r.contract_id != contract_id or r.occurred_at.date() > as_of:
            continue
        k = str(r.readmission_id)
        if k not in latest_r or _order(r) > _order(latest_r[k]):
            latest_r[k] = r
    readmitted = sum(1 for r in latest_r.values() if not r.retracted and start <= r.admit_date <= as_of)
    return MetricValue.ratio(readmitted, index)
