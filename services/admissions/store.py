"""The admissions database: tables (one MetaData) and the few queries the worker, the API and
the gateway's dedupe store need. SQLAlchemy Core; PostgreSQL and SQLite both work.

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
- ``processed_events`` and ``audit_log`` from ``shared``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text, and_, delete, func,
    select, tuple_, update,
)
from sqlalchemy.orm import Session

from shared.audit import audit_table
from shared.db import insert_ignore, processed_events_table

metadata = MetaData()
processed_events = processed_events_table(metadata)
audit_log = audit_table(metadata)

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


# ---------------------------------------------------------------------- worker: loading state


def load_crosswalk_with_rosters(session: Session, pairs: Iterable[tuple[str, str]]
                                ) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(authority, MRN) → (member id, the member's roster JSON) in one query."""
    keys = list(dict.fromkeys(pairs))
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    joined = crosswalk.outerjoin(members, members.c.member_id == crosswalk.c.member_id)
    for i in range(0, len(keys), 400):
        chunk = keys[i:i + 400]
        rows = session.execute(
            select(crosswalk.c.assigning_authority, crosswalk.c.mrn, crosswalk.c.member_id, members.c.roster)
            .select_from(joined).where(tuple_(crosswalk.c.assigning_authority, crosswalk.c.mrn).in_(chunk)))
        out.update({(r[0], r[1]): (r[2], r[3]) for r in rows})
    return out


def load_merged(session: Session, patient_keys: Iterable[str]) -> dict[str, str]:
    """patient key → the owner an A40 merged it into, for the keys that were merged."""
    keys = list(dict.fromkeys(patient_keys))
    out: dict[str, str] = {}
    for i in range(0, len(keys), 500):
        rows = session.execute(select(merged_patients.c.patient_key, merged_patients.c.owner)
                               .where(merged_patients.c.patient_key.in_(keys[i:i + 500])))
        out.update({r[0]: r[1] for r in rows})
    return out


def save_merged(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    from shared.db import upsert

    upsert(session, merged_patients, rows, ["patient_key"])


def load_rosters(session: Session, member_ids: Iterable[str]) -> dict[str, str]:
    ids = list(dict.fromkeys(member_ids))
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        rows = session.execute(select(members.c.member_id, members.c.roster)
                               .where(members.c.member_id.in_(ids[i:i + 500])))
        out.update({r[0]: r[1] for r in rows})
    return out


def load_states(session: Session, owners: Iterable[str]) -> dict[str, tuple[str, int]]:
    """owner → (state JSON, version), locked for this transaction on PostgreSQL (sorted lock order)."""
    keys = sorted(set(owners))
    out: dict[str, tuple[str, int]] = {}
    for i in range(0, len(keys), 500):
        rows = session.execute(select(patient_states.c.owner, patient_states.c.state, patient_states.c.version)
                               .where(patient_states.c.owner.in_(keys[i:i + 500]))
                               .order_by(patient_states.c.owner).with_for_update())
        out.update({r[0]: (r[1], r[2]) for r in rows})
    return out


def load_alerts(session: Session, alert_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(dict.fromkeys(alert_ids))
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        for r in session.execute(select(alerts).where(alerts.c.alert_id.in_(ids[i:i + 500]))).mappings():
            out[r["alert_id"]] = dict(r)
    return out


# ---------------------------------------------------------------------- worker: saving


def save_rosters(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    from shared.db import upsert

    upsert(session, members, rows, ["member_id"])


def replace_crosswalk(session: Session, member_ids: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """The crosswalk rows of ``member_ids`` become ``rows`` (an MRN moving to another member moves)."""
    from shared.db import upsert

    if member_ids:
        session.execute(delete(crosswalk).where(crosswalk.c.member_id.in_(list(member_ids))))
    upsert(session, crosswalk, rows, ["assigning_authority", "mrn"])


def save_states(session: Session, new: Sequence[dict[str, Any]], changed: Sequence[dict[str, Any]],
                gone: Sequence[str]) -> None:
    """Insert new records (a concurrent insert of the same owner fails the transaction, which is
    retried), update locked ones, delete emptied unmatched records."""
    from sqlalchemy import bindparam, insert

    if new:
        session.execute(insert(patient_states), list(new))
    if changed:
        stmt = (update(patient_states).where(patient_states.c.owner == bindparam("b_owner"))
                .values(state=bindparam("state"), version=bindparam("version"), member_id=bindparam("member_id"),
                        updated_at=bindparam("updated_at")))
        session.execute(stmt, [{"b_owner": r["owner"], "state": r["state"], "version": r["version"],
                                "member_id": r["member_id"], "updated_at": r["updated_at"]} for r in changed])
    if gone:
        session.execute(delete(patient_states).where(patient_states.c.owner.in_(list(gone))))


def save_projections(session: Session, encounter_rows: Sequence[dict[str, Any]], gone_encounters: Sequence[tuple],
                     census_rows: Sequence[dict[str, Any]], gone_census: Sequence[tuple]) -> None:
    """Upsert the current encounter and census rows; delete the (owner, encounter) and
    (member, encounter) rows that no longer exist (rare: discharges, cancels, merges)."""
    from shared.db import upsert

    if gone_encounters:
        session.execute(delete(encounters).where(
            tuple_(encounters.c.owner, encounters.c.encounter_key).in_(list(gone_encounters))))
    if encounter_rows:
        upsert(session, encounters, encounter_rows, ["owner", "encounter_key"])
    if gone_census:
        session.execute(delete(census).where(tuple_(census.c.member_id, census.c.encounter_key).in_(list(gone_census))))
    if census_rows:
        upsert(session, census, census_rows, ["member_id", "encounter_key"])


def save_alerts(session: Session, new: Sequence[dict[str, Any]], changed: Sequence[dict[str, Any]]) -> None:
    """New alerts (or re-raised ones) and changed ones; the acknowledgment columns are only
    reset when an alert is raised again."""
    from sqlalchemy import bindparam

    from shared.db import upsert

    if new:
        upsert(session, alerts, new, ["alert_id"])
    if changed:
        cols = ("status", "readmission", "updated_at", "retract_reason", "details")
        stmt = (update(alerts).where(alerts.c.alert_id == bindparam("b_alert_id"))
                .values({c: bindparam(c) for c in cols}))
        session.execute(stmt, [{**{c: r[c] for c in cols}, "b_alert_id": r["alert_id"]} for r in changed])


def gauges(session: Session) -> tuple[dict[str, int], int]:
    """(census by facility, unmatched patient records) for the gauges."""
    by_facility = {r[0]: r[1] for r in session.execute(
        select(census.c.facility, func.count()).group_by(census.c.facility))}
    unmatched = session.execute(select(func.count()).select_from(patient_states)
                                .where(patient_states.c.member_id.is_(None))).scalar_one()
    return by_facility, int(unmatched)


# ---------------------------------------------------------------------- gateway dedupe


def recent_acks(session: Session, since: datetime, limit: int) -> list[tuple[str, str, bytes]]:
    rows = session.execute(select(mllp_acks.c.sending_facility, mllp_acks.c.control_id, mllp_acks.c.ack)
                           .where(mllp_acks.c.accepted_at >= since)
                           .order_by(mllp_acks.c.accepted_at.desc()).limit(limit))
    return [(r[0], r[1], bytes(r[2])) for r in rows][::-1]


def save_acks(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    insert_ignore(session, mllp_acks, rows)


def prune_acks(session: Session, before: datetime) -> int:
    return session.execute(delete(mllp_acks).where(mllp_acks.c.accepted_at < before)).rowcount or 0


def find_ack(session: Session, sending_facility: str, control_id: str) -> bytes | None:
    row = session.execute(select(mllp_acks.c.ack).where(and_(mllp_acks.c.sending_facility == sending_facility,
                                                             mllp_acks.c.control_id == control_id))).first()
    return bytes(row[0]) if row else None


from . import quirks as _quirks  # noqa: E402,F401 - registers the feed_quirks table on ``metadata``
