"""The admissions database: its tables (one MetaData) and their column conventions. The SQL
over them is in ``repositories.py`` (the worker's and the API's ports), ``dedupe.py`` and
``feed_quirks.py`` (the gateway's write-behind stores). SQLAlchemy Core; PostgreSQL and SQLite
both work.

Tables:
- ``members``: the latest roster snapshot of each member (JSON) with the columns queries filter on.
- ``crosswalk``: (assigning authority, MRN) → member, from the roster snapshots.
- ``patient_states``: the domain's ``PatientState`` as JSON per member, or per unmatched
  patient (owner ``patient:<authority>|<mrn>``), with a version.
- ``encounters``, ``census``, ``alerts``: projections of the states for the API (rebuilt per
  owner on every change; alerts keep the hospitalist's acknowledgment).
- ``mllp_acks``: (sending facility, MSH-10) → ACK bytes of accepted messages (gateway dedupe).
- ``merged_patients``: patient key merged away by an A40 (MRG-1) → the record it was merged into,
  so the key's events that arrive after the merge (another partition) join that record.
- ``feed_quirks``: per sending facility, the counts behind the feed-quirks report.
- ``revoked_sessions``: the hospitalist page's logged-out sessions until they would have expired
  (``shared.web.revocations``).
- ``processed_events`` and ``audit_log`` from ``shared``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text

from shared.audit import audit_table
from shared.db import processed_events_table
from shared.web.revocations import revoked_sessions_table

metadata = MetaData()
processed_events = processed_events_table(metadata)
audit_log = audit_table(metadata)
revoked_sessions = revoked_sessions_table(metadata)  # the hospitalist page's logouts (shared.web)

members = Table(
    "members", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("pcp_practice_id", String(64), nullable=False),
    Column("hospitalist_group", String(64), nullable=True, index=True),
    Column("pod", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("roster", Text, nullable=False),  # MemberRosterV1 JSON
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

crosswalk = Table(
    "crosswalk", metadata,
    Column("assigning_authority", String(64), primary_key=True),
    Column("mrn", String(64), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
)

patient_states = Table(
    "patient_states", metadata,
    Column("owner", String(300), primary_key=True),  # member id or "patient:<authority>|<mrn>"
    Column("member_id", String(64), nullable=True, index=True),
    Column("state", Text, nullable=False),  # state_to_dict JSON
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

encounters = Table(
    "encounters", metadata,
    Column("owner", String(300), primary_key=True),
    Column("encounter_key", String(200), primary_key=True),
    Column("member_id", String(64), nullable=True),
    Column("facility", String(64), nullable=False),
    Column("visit_number", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("patient_class", String(64), nullable=True),  # PV1-2 as received (was 4: see upgrade_columns)
    Column("admit_time", DateTime(timezone=True), nullable=True),
    Column("discharge_time", DateTime(timezone=True), nullable=True),
    Column("disposition", String(64), nullable=True),  # PV1-36 as received (was 8)
    Column("location", Text, nullable=True),  # JSON
    Column("diagnoses", Text, nullable=True),  # JSON
    Column("length_of_stay_days", Integer, nullable=True),
    Column("last_event_time", DateTime(timezone=True), nullable=False),
    Index("ix_encounters_member", "member_id"),
)

census = Table(
    "census", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("encounter_key", String(200), primary_key=True),
    Column("facility", String(64), nullable=False, index=True),
    Column("practice_id", String(64), nullable=True, index=True),
    Column("hospitalist_group", String(64), nullable=True),
    Column("pod", String(64), nullable=True),
    Column("patient_class", String(64), nullable=True),
    Column("location", Text, nullable=True),  # JSON
    Column("since", DateTime(timezone=True), nullable=True),
)

alerts = Table(
    "alerts", metadata,
    Column("alert_id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("hospitalist_group", String(64), nullable=True),
    Column("pod", String(64), nullable=True),
    Column("pcp_practice_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("facility", String(64), nullable=False),
    Column("encounter_key", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # open | retracted
    Column("readmission", Boolean, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=True),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retract_reason", String(200), nullable=True),
    Column("details", Text, nullable=False),  # the alert as published, with updates applied (JSON)
    Column("acknowledged_by", String(64), nullable=True),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Index("ix_alerts_group", "hospitalist_group", "status", "raised_at"),
)

merged_patients = Table(
    "merged_patients", metadata,
    Column("patient_key", String(300), primary_key=True),  # <authority>|<MRN> of MRG-1
    Column("owner", String(300), nullable=False),  # member id or "patient:<authority>|<mrn>"
    Column("merged_at", DateTime(timezone=True), nullable=False),
)

mllp_acks = Table(
    "mllp_acks", metadata,
    Column("sending_facility", String(64), primary_key=True),
    Column("control_id", String(210), primary_key=True),
    Column("ack", LargeBinary, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False, index=True),
)

feed_quirks = Table(
    "feed_quirks", metadata,
    Column("facility", String(64), primary_key=True),
    Column("category", String(16), primary_key=True),  # accepted | refused | duplicate | warning | refusal
    Column("field", String(32), primary_key=True),  # warning/refusal: where (PV1-36, MSH-9.2); else ""
    Column("kind", String(64), primary_key=True),  # warning kind, or table 0357 code of a refusal; else ""
    Column("count", BigInteger, nullable=False),
    Column("last_text", String(300), nullable=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)


# Columns widened since they were first created (issue 12: PV1-2/PV1-36 are kept as received).
WIDENED: tuple[tuple[str, str, int], ...] = (
    ("encounters", "patient_class", 64), ("encounters", "disposition", 64), ("census", "patient_class", 64))


def upgrade_columns(engine: Any) -> list[str]:
    """Widen the columns of an older schema in place (PostgreSQL; SQLite does not enforce
    VARCHAR lengths). Idempotent; returns what it changed."""
    if engine.dialect.name != "postgresql":
        return []
    changed = []
    with engine.begin() as conn:
        for table, column, length in WIDENED:
            current = conn.exec_driver_sql(
                "SELECT character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
                (table, column)).scalar()
            if current is not None and current < length:
                conn.exec_driver_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE varchar({length})')
                changed.append(f"{table}.{column}")
    return changed


def utc(dt: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite are naive (stored as UTC): make them aware."""
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=timezone.utc)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
