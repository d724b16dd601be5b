"""Intake's tables (one MetaData; its own PostgreSQL schema under one DATABASE_URL).

- ``ingest_loads``: every file / API load and its report (a re-sent claims file is found by its
  SHA-256; a ``running`` row whose process is gone is ended by ``ownership``);
- ``roster_snapshots``: the latest ``members.roster`` snapshot this service produced per member
  (written for the snapshots the broker confirmed; on an upgraded platform, first by ``seed``
  from the topic): what a roster row is compared with, where the attribution history is
  carried from, and what a full load terms;
- ``claim_versions_loaded``: the claim versions this service produced (confirmed by the broker;
  on an upgraded platform, first by ``seed`` from the topic), without their bodies: what tells a
  correction whose original was never received;
- ``audit_log`` from ``shared`` (who loaded what).

Free text goes to ``Text`` columns so an over-long value never becomes a database error.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from shared.audit import audit_table
from shared.db import UtcDateTime

metadata = MetaData()

ingest_loads = Table(
    "ingest_loads", metadata,
    Column("load_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # roster | claims
    Column("format", String(8), nullable=False),  # csv | x12 | json
    Column("mode", String(8), nullable=False),  # full | partial (rosters); - (claims)
    Column("file_name", Text, nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("status", String(16), nullable=False),  # running | done | rejected | failed
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("accepted", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("lines", Integer, nullable=False, default=0),
    Column("report", Text, nullable=True),
    Index("ix_ingest_loads_sha", "kind", "sha256"),
)

roster_snapshots = Table(
    "roster_snapshots", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("status", String(8), nullable=False),
    Column("body", Text, nullable=False),
    Column("body_hash", String(64), nullable=False),
    Index("ix_roster_snapshots_status", "status"),
)

claim_versions_loaded = Table(
    "claim_versions_loaded", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("claim_id", String(64), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("original_claim_id", String(64), nullable=True),
)

audit = audit_table(metadata)
