"""The gaps tables (one MetaData); the row <-> domain mappings are in ``rows.py``.

- ``members``: the latest roster snapshot per member (event time decides which is latest);
  the body is kept whole (the member's names for the care-gaps document come from it).
- ``claim_versions``: every claim version received (original, replacement, void), with the
  few fields the measure engine reads in a compact JSON (``facts``): the claim book is
  rebuilt from these rows, so a void or a replacement is applied by recomputing, never by
  editing a stored result.
- ``transition_events``: care transitions and their cancels (follow-up after discharge).
- ``gaps``: one row per gap (member, measure, period [, discharge]) with the status, the
  reason, the evidence and the attribution last announced.
- ``maintenance_runs``: which day the daily re-evaluation last ran.
- ``processed_events`` and ``audit_log`` from ``shared``.

Free text goes to ``Text`` columns so an over-long value never becomes a database error.

The roster / claims loads moved to the intake service with their ``ingest_loads`` table: a
database created before that keeps its ``ingest_loads`` table, unused (nothing drops it).
"""

from __future__ import annotations

from sqlalchemy import (
    Column, Date, Index, Integer, MetaData, String, Table, Text,
)

from shared.audit import audit_table
from shared.db import UtcDateTime, processed_events_table

metadata = MetaData()


members = Table(
    "members", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("status", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("pcp_practice_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("pod", String(64), nullable=True),
    Column("body", Text, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_members_status", "status"),
)

claim_versions = Table(
    "claim_versions", metadata,
    # (member, event): one index serves both the dedupe (ON CONFLICT) and the per-member reads.
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("claim_id", String(64), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("original_claim_id", String(64), nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("claim_type", String(16), nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("facts", Text, nullable=False),
    Column("source_file", Text, nullable=True),
)

transition_events = Table(
    "transition_events", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("transition_id", String(36), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("body", Text, nullable=False),
)

gaps = Table(
    "gaps", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("gap_key", String(200), primary_key=True),
    Column("measure_id", String(16), nullable=False),
    Column("measure_version", String(64), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("instance_id", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("due_date", Date, nullable=True),
    Column("lapses_on", Date, nullable=True),
    Column("practice_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("cause_event_id", String(36), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_gaps_rates", "period_start", "measure_id", "status"),
)

maintenance_runs = Table(
    "maintenance_runs", metadata,
    Column("job", String(64), primary_key=True),
    Column("last_day", Date, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)

processed = processed_events_table(metadata)
audit = audit_table(metadata)
