"""Roster members given as JSON (the API's ``POST /roster/members``) → parsed rows or rejections,
with the checks a roster CSV row gets (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .records import ParsedRoster, Position, Rejection, validate_roster_fields
from .roster_csv import roster_body_fields

_ENVELOPE_KEYS = frozenset({"event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source",
                            "patient_key", "causation_id", "roster_load_id"})


def iter_roster_items(items: Iterable[Any]) -> Iterator[ParsedRoster | Rejection]:
    """JSON members (``MemberRosterV1`` body fields, or roster CSV columns) → parsed rows."""
    seen: dict[str, int] = {}
    for n, item in enumerate(items, 1):
        pos = Position("api", lines=(n,))
        raw = json.dumps(item, default=str) + "\n"
        if "\\u0000" in raw:  # a database refuses NUL in text: never let one through
            yield Rejection("the member contains a NUL character", pos, "row", raw=raw)
            continue
        if not isinstance(item, dict):
            yield Rejection("not a JSON object", pos, "row", raw=raw)
            continue
        member = str(item.get("member_id") or "").strip() or None
        if "eligibility_start" in item:  # roster CSV columns as JSON
            result = roster_body_fields({k: "" if v is None else str(v) for k, v in item.items()})
        else:
            fields = {k: v for k, v in item.items() if k not in _ENVELOPE_KEYS}
            result = validate_roster_fields(fields)
        if isinstance(result, str):
            yield Rejection(result, pos, "row", raw=raw, key=member)
            continue
        if result["member_id"] in seen:
            yield Rejection(f"member_id appears again (first at item {seen[result['member_id']]})", pos, "row",
                            raw=raw, key=member)
            continue
        seen[result["member_id"]] = n
        yield ParsedRoster(result, n)
