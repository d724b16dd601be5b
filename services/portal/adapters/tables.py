"""The portal's own database (tables prefixed ``portal_``, so a database shared with other services
holds no two tables of one name): the projection of what members may see, their messages, sessions,
sign-in attempts, pending OpenID Connect logins, the audit log and the processed-events dedupe."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from shared.audit import audit_table
from shared.db import UtcDateTime, processed_events_table

metadata = MetaData()

members = Table(
    "portal_members", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("pcp_practice_id", String(64), nullable=False),
    Column("pcp_npi", String(10)),
    Column("pod", String(64)),
    Column("contract_id", String(64), nullable=False),
    Column("program", String(64)),
    Column("status", String(16), nullable=False),
    Column("eligibility_end", Date),
    Column("as_of", UtcDateTime, nullable=False),
)

encounters = Table(
    "portal_encounters", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("encounter_key", String(200), primary_key=True),
    Column("setting", String(16), nullable=False),
    Column("facility", String(64), nullable=False),
    Column("started_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("status", String(16), nullable=False),
    Column("alert_id", String(36)),
    Column("transition_id", String(36)),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_portal_encounters_alert", "alert_id"),
    Index("ix_portal_encounters_transition", "transition_id"),
)

gaps = Table(
    "portal_gaps", metadata,
    Column("gap_key", String(200), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("measure_id", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("due_date", Date),
    Column("period_end", Date, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
)

care_tasks = Table(
    "portal_tasks", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("reason_key", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_date", Date),
    Column("appointment_date", Date),
    Column("assignee", String(64)),
    Column("occurred_at", UtcDateTime, nullable=False),
)

messages = Table(
    "portal_messages", metadata,
    Column("message_id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("topic", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("in_reply_to", String(36)),
    Column("via", String(16), nullable=False),
)

replies = Table(
    "portal_replies", metadata,
    Column("reply_id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("message_id", String(36), nullable=False),
    Column("task_id", String(36)),
    Column("body", Text, nullable=False),
    Column("author_name", String(100), nullable=False),
    Column("author_role", String(32), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "portal_sessions", metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("via", String(16), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

signin_failures = Table(
    "portal_signin_failures", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_key", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_portal_signin_failures", "member_key", "at"),
)

pending_logins = Table(
    "portal_oidc_logins", metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128)),
    Column("created_at", UtcDateTime, nullable=False),
)

processed = processed_events_table(metadata)
audit_log = audit_table(metadata)

