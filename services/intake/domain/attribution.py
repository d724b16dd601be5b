"""Attribution history a roster snapshot carries (``MemberRosterV1.attribution``).

``members.roster`` is compacted: a replay sees only the latest snapshot per member, so the
snapshot itself has to carry the member's past (contract, risk tier, PCP practice). Billing
reads the spans exactly as it reads a sequence of snapshots without spans: each span's
values take effect from its ``start`` (billing moves that to the next month start) and the
earliest reaches back without limit. So each span here starts on the event date of the
snapshot that brought its values, which is the date billing would have used for that
snapshot, and the replay of the latest snapshot alone bills like the live run.

Rules, for the snapshot a load is about to emit (``carried_attribution``):

- spans the input supplied itself (JSON members) are kept as given;
- a member without a stored snapshot: no spans (the values hold for the whole eligibility);
- (contract, tier, practice) equal to the stored snapshot's: the stored spans, unchanged
  (so an unchanged row still compares equal to what is stored);
- otherwise the stored spans, or, when the stored snapshot has none, one span of its values
  starting at its first eligibility day (or its event date when that is earlier), closed the
  day before the new snapshot's event date, then an open span of the new values from that
  date. A stored span starting on or after that date was superseded the same day and is
  dropped, except the earliest, which is kept as a one-day span the day before (it carries
  the values that reach back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from shared.events import AttributionSpan

_ONE_DAY = timedelta(days=1)
_KEY_FIELDS = ("contract_id", "risk_tier", "pcp_practice_id")


def attribution_key(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """(contract, risk tier, practice) of a snapshot's body fields (tier defaults to ``low``)."""
    return body["contract_id"], body.get("risk_tier") or "low", body["pcp_practice_id"]


def _spans(items: Iterable[Any] | None) -> list[AttributionSpan]:
    spans = [s if isinstance(s, AttributionSpan) else AttributionSpan.model_validate(s) for s in items or ()]
    spans.sort(key=lambda s: (s.start, s.end or date.max))
    return spans


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _first_eligible_day(body: Mapping[str, Any]) -> date | None:
    starts = [_as_date(s["start"] if isinstance(s, Mapping) else s.start) for s in body.get("eligibility") or ()]
    return min(starts, default=None)


def _span(values: tuple[str, str, str], start: date, end: date | None) -> AttributionSpan:
    contract_id, risk_tier, practice_id = values
    return AttributionSpan(start=start, end=end, contract_id=contract_id, risk_tier=risk_tier,
                           pcp_practice_id=practice_id)


def carried_attribution(
    stored: Mapping[str, Any] | None, stored_on: date | None, current: Mapping[str, Any], effective: date,
) -> tuple[AttributionSpan, ...]:
    """The ``attribution`` of the snapshot built from ``current`` (body fields).

    ``stored``: the body fields of the member's stored latest snapshot (JSON types or Python
    types), None for a new member; ``stored_on``: that snapshot's event date; ``effective``:
    the new snapshot's event date (``occurred_at.date()``).
    """
    supplied = current.get("attribution")
    if supplied:
        return tuple(_spans(supplied))
    if stored is None:
        return ()
    history = _spans(stored.get("attribution"))
    previous, now = attribution_key(stored), attribution_key(current)
    if now == previous:
        return tuple(history)
    last_day = effective - _ONE_DAY
    if not history:
        starts = [d for d in (_first_eligible_day(stored), stored_on) if d is not None]
        history = [_span(previous, min(starts, default=last_day), None)]
    kept: list[AttributionSpan] = []
    for span in history:
        if span.start > last_day:
            if kept:
                continue  # superseded by this change, or by one the same day before it
            span = span.model_copy(update={"start": last_day})
        if span.end is None or span.end > last_day:
            span = span.model_copy(update={"end": last_day})
        kept.append(span)
    kept.append(_span(now, effective, None))
    return tuple(kept)
