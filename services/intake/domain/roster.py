"""Roster rules that need no I/O.

A full roster load is the complete list of attributed members: a member the platform knows
who is absent from it is *termed* (status ``termed``, eligibility ended the day before the
load takes effect), never deleted. Spans that would only have started on or after that day
are dropped (they never took effect).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

ENVELOPE_FIELDS = frozenset({
    "event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source",
    "patient_key", "causation_id",
})


def _body(member: Any) -> dict:
    data = member.model_dump() if hasattr(member, "model_dump") else dict(member)
    return {k: v for k, v in data.items() if k not in ENVELOPE_FIELDS}


def _span_fields(span: Any) -> tuple[date, date | None]:
    if isinstance(span, dict):
        return span["start"], span.get("end")
    return span.start, span.end


def term_absent_members(
    known: Iterable[Any], present_ids: Iterable[str], effective_date: date, load_id: str | None = None,
) -> list[dict]:
    """Body fields of a termed ``MemberRosterV1`` for every active known member not in the load.

    ``known``: the current roster snapshots (``MemberRosterV1`` or their field dicts).
    ``present_ids``: member ids in the full load. Members already termed are left alone.
    """
    present = set(present_ids)
    last_day = effective_date - timedelta(days=1)
    out: list[dict] = []
    for m in known:
        body = _body(m)
        if body["member_id"] in present or body.get("status") == "termed":
            continue
        spans = []
        for span in body.get("eligibility") or ():
            start, end = _span_fields(span)
            if start > last_day:
                continue
            spans.append({"start": start, "end": last_day if end is None or end > last_day else end})
        body["eligibility"] = tuple(spans)
        body["status"] = "termed"
        body["roster_load_id"] = load_id
        out.append(body)
    out.sort(key=lambda b: b["member_id"])
    return out
