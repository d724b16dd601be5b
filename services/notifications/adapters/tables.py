"""The service's tables (its own database, ``DATABASE_URL``).

Projections (rebuilt from the topics): ``members`` (+ ``member_patients``, the MRN crosswalk),
``encounters`` (+ ``encounter_refs``: alert and transition ids), ``gaps``, ``tasks``.
Subscriptions and their state: ``subscriptions`` (configuration, status, event counter),
``subscription_secrets`` (AES-GCM encrypted), ``dispatch_state`` (per-subscription backoff,
heartbeat and handshake claims). The outbox: ``notification_events`` (one per notification,
the snapshot payloads are built from), ``deliveries`` (one per subscription and notification:
owed until acknowledged or given up), ``attempts`` (every attempt: when, endpoint, status or
ACK, latency, error), ``dead_letters`` (deliveries given up, until published to Kafka).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table,
    Text, text,
)

from shared.audit import audit_table
from shared.db import UtcDateTime, processed_events_table

metadata = MetaData()
processed_events = processed_events_table(metadata)
audit_log = audit_table(metadata)
BIGINT = BigInteger().with_variant(Integer, "sqlite")

members = Table(
    "members", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("practice_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("hospitalist_group", String(64)),
    Column("program", String(64)),
    Column("pod", String(64)),
    Column("status", String(16), nullable=False),
    Column("as_of", UtcDateTime()),
    Column("body", JSON, nullable=False),  # names, birth date, sex, NPI, eligibility, MRNs
    Index("ix_members_practice", "practice_id"),
)

member_patients = Table(
    "member_patients", metadata,
    Column("patient_key", String(200), primary_key=True),
    Column("member_id", String(64), nullable=False),
)

encounters = Table(
    "encounters", metadata,
    Column("encounter_key", String(200), primary_key=True),
    Column("fhir_id", String(64), nullable=False, unique=True),
    Column("member_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start", UtcDateTime()),
    Column("body", JSON, nullable=False),
    Index("ix_encounters_member", "member_id", "start"),
)

encounter_refs = Table(
    "encounter_refs", metadata,
    Column("ref", String(64), primary_key=True),  # alert id or transition id
    Column("encounter_key", String(200), nullable=False),
)

gaps = Table(
    "gaps", metadata,
    Column("gap_key", String(200), primary_key=True),
    Column("fhir_id", String(64), nullable=False, unique=True),
    Column("member_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("body", JSON, nullable=False),
)

tasks = Table(
    "tasks", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("due_date", Date),
    Column("overdue_notified_for", Date),
    Column("updated_at", UtcDateTime()),
    Column("body", JSON, nullable=False),
    Index("ix_tasks_due", "status", "due_date"),
)

held_adt = Table(
    "held_adt", metadata,  # HL7 messages of patients the crosswalk did not know yet (HOLD_UNMATCHED_H)
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("patient_key", String(200), nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("held_at", UtcDateTime(), nullable=False),
    Column("body", Text, nullable=False),  # the adt.events event as received (JSON)
    Index("ix_held_adt_patient", "patient_key"),
    Index("ix_held_adt_age", "held_at"),
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", String(24), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", String(1000)),
    Column("practice_id", String(64)),
    Column("hospitalist_group", String(64)),
    Column("endpoint", String(2000), nullable=False),
    Column("config", JSON, nullable=False),  # topics, filters, content, timeouts, policy, hl7, heartbeat, name
    Column("events_count", BIGINT, nullable=False, server_default=text("0")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("end_at", UtcDateTime()),
    Column("created_by", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

subscription_secrets = Table(
    "subscription_secrets", metadata,
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # webhook | headers
    Column("sealed", LargeBinary, nullable=False),  # AES-GCM: nonce + ciphertext + tag
    Column("hint", String(16)),  # the last characters, to tell secrets apart
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),  # the old secret during a rotation
    Index("ix_secrets_sub", "subscription_id", "kind"),
)

dispatch_state = Table(
    "dispatch_state", metadata,
    Column("subscription_id", String(36), ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("retry_at", UtcDateTime()),
    Column("last_error", String(1000)),
    Column("last_success_at", UtcDateTime()),
    Column("last_failure_at", UtcDateTime()),
    Column("last_sent_at", UtcDateTime()),  # any notification or heartbeat (heartbeat clock)
    Column("control_until", UtcDateTime()),  # a handshake/heartbeat claimed until
    Column("control_owner", String(100)),
)

notification_events = Table(
    "notification_events", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("topic", String(40), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("source_event_id", String(36), nullable=False),
    Column("focus_type", String(32), nullable=False),
    Column("focus_id", String(64), nullable=False),
    Column("audience", JSON, nullable=False),
    Column("facts", JSON, nullable=False),
    Column("hl7", Text),
    Column("created_at", UtcDateTime(), nullable=False),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_number", BIGINT, nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("state", String(12), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("leased_until", UtcDateTime()),
    Column("lease_owner", String(100)),
    Column("delivered_at", UtcDateTime()),
    Column("last_status", String(32)),
    Column("last_error", String(1000)),
    Index("ux_deliveries_sub_event", "subscription_id", "event_id", unique=True),
    Index("ux_deliveries_sub_number", "subscription_id", "event_number", unique=True),
    Index("ix_deliveries_owed", "subscription_id", "state", "event_number"),
)

dead_letters = Table(
    "dead_letters", metadata,  # deliveries given up, until published to notifications.dead_letters
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("delivery_id", BIGINT, nullable=False),
    Column("owed_since", UtcDateTime(), nullable=False),  # the delivery's created_at (a redelivery resets it)
    Column("subscription_id", String(36), nullable=False),
    Column("channel", String(24), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("event_number", BIGINT, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status", String(32)),
    Column("reason", String(1000), nullable=False),
    Column("given_up_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime()),
    Index("ux_dead_letters_delivery", "delivery_id", "owed_since", unique=True),
    Index("ix_dead_letters_unpublished", "published_at", "id"),
)

attempts = Table(
    "attempts", metadata,
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("delivery_id", BIGINT),
    Column("event_id", String(36)),
    Column("kind", String(12), nullable=False),  # event | handshake | heartbeat
    Column("at", UtcDateTime(), nullable=False),
    Column("endpoint", String(2000), nullable=False),
    Column("status", String(32), nullable=False),  # HTTP code, ACK code, timeout, connect, ...
    Column("ok", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("error", String(1000)),
    Column("dispatcher", String(100)),
    Index("ix_attempts_sub", "subscription_id", "at"),
    Index("ix_attempts_event", "event_id"),
)
