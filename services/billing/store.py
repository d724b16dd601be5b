"""Billing tables (one MetaData) and the database wrapper that serialises ledger writers.

- ``ledger_entries``: the append-only ledger. ``entry_id`` is unique (the last line of defence
  against a double post); on PostgreSQL a trigger refuses UPDATE and DELETE. Indexed by member
  and by (contract, period) and (contract, posted_period).
- ``member_months``: one row per member month (contract, tier, eligible day runs) — statements
  ``GROUP BY`` them; ``paid_lines``: one row per paid claim line attributed to a contract month
  (``member_family`` = member|claim family, so one family's rows are replaced together).
- ``roster_snapshots`` / ``claim_events``: every roster snapshot and claim version seen, as
  the event's JSON: the member's whole history the accrual rules recompute from;
  ``held_claims``: corrections waiting for their original (reported, counted nowhere).
- ``gap_events``, ``transition_events``, ``task_steps``: the facts the measure rates, the
  readmission rate and the satisfaction metrics are folded from.
- ``contracts``: every contract file loaded (the latest load of an id is in force);
  ``fed_metrics``: metrics posted through the API; ``closed_months``; ``dirty_contracts``
  (contract-level estimates to recompute, from a period on); ``billing_state`` (open month,
  applied contracts fingerprint).
- ``processed_events`` and ``audit_log`` from ``shared``.

Free text goes to ``Text`` columns so an over-long value never becomes a database error.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text, text,
)
from sqlalchemy.orm import Session

from shared.audit import audit_table, install_append_only_guard
from shared.db import UtcDateTime, Database, processed_events_table

metadata = MetaData()


_ID = BigInteger().with_variant(Integer, "sqlite")

processed = processed_events_table(metadata)
audit = audit_table(metadata)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("entry_id", String(36), nullable=False, unique=True),
    Column("contract_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("posted_period", String(7), nullable=False),
    Column("account", String(32), nullable=False),
    Column("member_id", String(64), nullable=True),
    Column("rule", Text, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("source_event_id", String(36), nullable=False),
    Column("reverses", String(36), nullable=True),
    Column("adjustment", Boolean, nullable=False, default=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_ledger_member", "member_id", "rule"),
    Index("ix_ledger_contract_period", "contract_id", "period"),
    Index("ix_ledger_contract_posted", "contract_id", "posted_period"),
)

member_months = Table(
    "member_months", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("contract_id", String(64), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("runs", Text, nullable=False),
    Index("ix_member_months_contract_period", "contract_id", "period"),
)

paid_lines = Table(
    "paid_lines", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("member_family", Text, nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("contract_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
    Column("procedure_code", String(16), nullable=True),
    Column("revenue_code", String(8), nullable=True),
    Column("paid_cents", BigInteger, nullable=False),
    Index("ix_paid_lines_member_family", "member_family"),
    Index("ix_paid_lines_member", "member_id"),
    Index("ix_paid_lines_contract_period", "contract_id", "period"),
)

roster_snapshots = Table(
    "roster_snapshots", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
)

claim_events = Table(
    "claim_events", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("claim_id", String(64), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("original_claim_id", String(64), nullable=True),
    Column("payload", Text, nullable=False),
)

held_claims = Table(
    # corrections (frequency 7 / 8) of a claim family whose original has not arrived: they count
    # for nothing until it does (shared.claim_versions); rows leave when the original arrives
    "held_claims", metadata,
    Column("member_id", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("claim_id", String(64), nullable=False),
    Column("frequency_code", String(1), nullable=False),
    Column("names_claim_id", String(64), nullable=True),  # the claim it corrects (the one awaited)
    Column("held_since", UtcDateTime, nullable=False),  # when the platform recorded the correction
)

gap_events = Table(
    "gap_events", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("contract_id", String(64), nullable=False, index=True),
    Column("gap_key", Text, nullable=False, index=True),
    Column("measure_id", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

transition_events = Table(
    "transition_events", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("contract_id", String(64), nullable=True, index=True),  # NULL for cancels
    Column("transition_id", String(36), nullable=True, index=True),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
)

task_steps = Table(
    "task_steps", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("task_id", String(36), nullable=False, index=True),
    Column("contract_id", String(64), nullable=True, index=True),
    Column("to_status", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("appointment_date", Date, nullable=True),
)

contracts = Table(
    "contracts", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("contract_id", String(64), nullable=False, index=True),
    Column("fingerprint", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("document", Text, nullable=False),  # the validated contract as YAML
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("loaded_by", String(64), nullable=False),
)

fed_metrics = Table(
    "fed_metrics", metadata,
    Column("contract_id", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("value", String(40), nullable=False),  # decimal text
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(64), nullable=False),
)

closed_months = Table(
    "closed_months", metadata,
    Column("contract_id", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("closed_at", UtcDateTime, nullable=False),
    Column("closed_by", String(64), nullable=False),
)

dirty_contracts = Table(
    "dirty_contracts", metadata,
    Column("contract_id", String(64), primary_key=True),
    Column("from_period", String(7), nullable=False),
)

billing_state = Table(
    "billing_state", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

APPEND_ONLY = ("audit_log", "ledger_entries")
_LOCK_KEY = 0x0B111  # pg_advisory_xact_lock key of the ledger writers
_SCHEMA_LOCK_KEY = 0x0B112  # pg_advisory_lock key of the schema step


class BillingDatabase(Database):
    """``Database`` whose transactions are the ledger's only writers, one at a time.

    The ledger diff reads what is posted and appends the difference, so two writers of the
    same keys must not overlap: ``transaction()`` holds a process-wide lock for its whole
    length and, on PostgreSQL, a transaction-scoped advisory lock (other processes: the API's
    month close, the CLI). On SQLite the database itself serialises writers.
    """

    def __init__(self, url: str, *, pool_size: int = 10, schema: str | None = None) -> None:
        if schema is not None:
            from sqlalchemy.engine import make_url

            url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False)
        super().__init__(url, metadata, pool_size=pool_size)
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._lock, self.sessions() as session, session.begin():
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            yield session

    def reader(self) -> Session:
        """A session for reads (no ledger lock)."""
        return self.sessions()

    def create_schema(self) -> None:
        """Tables and append-only guards; on PostgreSQL under a lock, because the worker and the
        API may both run this step at the same moment against a fresh database."""
        if self.engine.dialect.name != "postgresql":
            super().create_schema()
            return
        with self.engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            try:
                super().create_schema()
                for table in APPEND_ONLY:
                    install_append_only_guard(self.engine, table)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SCHEMA_LOCK_KEY})
                lock.commit()
