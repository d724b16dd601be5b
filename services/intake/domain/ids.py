"""Deterministic event ids and the roster snapshot's comparable body (no I/O).

- ``claim_event_id``: the same claim content from the same sender gets the same id, whichever
  file or load it came in (the consumers apply it once);
- ``roster_event_id``: chained to the id of the snapshot it replaces (``"new"`` for a member
  without one), so re-running a load before anyone caught up gives the same ids, and a member
  who comes back after being termed gets a new one;
- ``roster_body`` / ``body_hash``: a snapshot's member fields without the envelope and the load
  id, and their hash (an unchanged member is not produced again).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from shared.events import derive_id

from .records import ParsedClaim

ROSTER_ENVELOPE = frozenset({
    "event_id", "event_type", "schema_version", "occurred_at", "recorded_at", "source", "patient_key",
    "causation_id", "roster_load_id",
})


def claim_event_id(parsed: ParsedClaim) -> uuid.UUID:
    """Same claim content from the same sender → same id, whichever file or load it came in."""
    m = parsed.model
    digest = hashlib.sha256(parsed.body_json()).hexdigest()
    sender = m.payer_id or m.billing_npi or "-"
    return derive_id(f"claims:{sender}", f"{m.claim_id}|{m.frequency_code}|{digest}")


def roster_event_id(previous_event_id: str | None, member_id: str, digest: str) -> uuid.UUID:
    return derive_id(previous_event_id or "new", f"roster:{member_id}:{digest}")


def roster_body(event: Any) -> dict[str, Any]:
    """A roster snapshot's member fields as JSON types (no envelope, no load id)."""
    return event.model_dump(mode="json", exclude=ROSTER_ENVELOPE)


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
