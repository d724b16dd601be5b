"""The risk service's tables (one MetaData).

- ``risk_members``: the latest roster snapshot's fields the service reads (event time decides).
- ``risk_segments``: CMS-HCC segment inputs loaded from eligibility data (dual status,
  institutional, OREC); members without a row are scored community non-dual, OREC 0.
- ``risk_claims``: every claim version's facts (diagnoses, eligibility for risk adjustment, ED
  date, inpatient stay) as compact JSON; the current version is chosen when reading.
- ``risk_encounters``: ED visits and inpatient stays from the admissions service's alerts and
  discharges, one row per (member, encounter, kind); ``alert_id`` finds it for an update or a
  retraction.
- ``risk_readmissions``, ``risk_gaps``: readmission events; each care gap's latest status.
- ``risk_assessments``: each member's last assessment (score, tiers, reasons) and the computed
  tier history; rewritten only when it changed. The full explanation is assessed on request.
- ``processed_events``, ``audit_log`` and the ops page's ``revoked_sessions`` from ``shared``.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Float, Index, MetaData, String, Table

from shared.audit import audit_table
from shared.db import UtcDateTime, processed_events_table
from shared.web.revocations import revoked_sessions_table

metadata = MetaData()

members = Table(
    "risk_members", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("practice_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("roster_tier", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("pod", String(64), nullable=True),
    Column("eligibility", JSON, nullable=False),
    Column("practices", JSON, nullable=False),
    Column("roster_at", UtcDateTime, nullable=True),
)

segments = Table(
    "risk_segments", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("dual", String(8), nullable=False),
    Column("institutional", Boolean, nullable=False),
    Column("orec", String(1), nullable=False),
)

claims = Table(
    "risk_claims", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("ed", Boolean, nullable=False),
    Column("facts", JSON, nullable=False),
)

encounters = Table(
    "risk_encounters", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("encounter_key", String(200), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("arrival", UtcDateTime, nullable=False),
    Column("local_day", Date, nullable=False),
    Column("primary_dx", String(16), nullable=True),
    Column("retracted", Boolean, nullable=False),
    Column("alert_id", String(36), nullable=True),
    Index("ix_risk_encounters_alert", "alert_id"),
)

readmissions = Table(
    "risk_readmissions", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("readmission_id", String(36), primary_key=True),
    Column("admit_day", Date, nullable=False),
    Column("retracted", Boolean, nullable=False),
)

gaps = Table(
    "risk_gaps", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("gap_key", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
)

assessments = Table(
    "risk_assessments", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("contract_id", String(64), nullable=False),
    Column("practice_id", String(64), nullable=False),
    Column("assessed_on", Date, nullable=False),
    Column("model", String(32), nullable=False),
    Column("raw_score", Float, nullable=True),
    Column("payment_score", Float, nullable=True),
    Column("computed_tier", String(16), nullable=False),
    Column("tier_in_force", String(16), nullable=False),
    Column("history", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    Index("ix_risk_assessments_practice", "practice_id"),
)

processed = processed_events_table(metadata)
audit = audit_table(metadata)
revoked_sessions = revoked_sessions_table(metadata)
