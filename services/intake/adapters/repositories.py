"""The ports of ``app.ports`` over SQLAlchemy: load records, the roster snapshots and the claim
versions this service produced (and those the upgrade step read from the topics:
``SqlRosterSnapshots.seed``). One short transaction per call."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from shared.db import Database, insert_ignore, upsert

from ..app.ports import StoredSnapshot
from ..domain import LoadReport, utcnow
from ..domain.held import ClaimLink
from .ownership import current_owner
from .tables import claim_versions_loaded, ingest_loads, roster_snapshots

_CHUNK = 1000


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


class SqlLoadRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, report: LoadReport) -> None:
        """The ``running`` row, with its owner and deadline (``ownership`` ends it if the process dies)."""
        report.owner = current_owner()
        with self.db.transaction() as session:
            insert_ignore(session, ingest_loads, [{
                "load_id": report.load_id, "kind": report.kind, "format": report.format, "mode": report.mode,
                "file_name": report.file, "sha256": report.sha256, "status": "running", "started_at": utcnow(),
                "accepted": 0, "rejected": 0, "lines": 0, "report": json.dumps(report.as_dict()),
            }])

    def finish(self, report: LoadReport) -> None:
        with self.db.transaction() as session:
            session.execute(update(ingest_loads).where(ingest_loads.c.load_id == report.load_id).values(
                status=report.status, finished_at=utcnow(), accepted=report.accepted, rejected=report.rejected,
                lines=report.lines, report=json.dumps(report.as_dict())))

    def first_done_claims_load(self, sha256: str) -> str | None:
        with self.db.transaction() as session:
            return session.scalar(select(ingest_loads.c.load_id).where(
                ingest_loads.c.kind == "claims", ingest_loads.c.sha256 == sha256, ingest_loads.c.status == "done")
                .order_by(ingest_loads.c.started_at).limit(1))

    def get(self, load_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as session:
            row = session.execute(select(ingest_loads).where(ingest_loads.c.load_id == load_id)).first()
        if row is None:
            return None
        if row.report:
            return json.loads(row.report)
        return {"load_id": row.load_id, "kind": row.kind, "format": row.format, "mode": row.mode,
                "file": row.file_name, "sha256": row.sha256, "status": row.status,
                "started_at": row.started_at.isoformat(), "accepted": row.accepted, "rejected": row.rejected,
                "lines": row.lines}


def _snapshot(row) -> StoredSnapshot:
    return StoredSnapshot(row.member_id, row.event_id, row.body_hash, row.status, row.occurred_at, json.loads(row.body))


class SqlRosterSnapshots:
    def __init__(self, db: Database) -> None:
        self.db = db

    def stored(self, member_ids: list[str]) -> dict[str, StoredSnapshot]:
        out: dict[str, StoredSnapshot] = {}
        with self.db.transaction() as session:
            for part in _chunks(sorted(member_ids)):
                for row in session.execute(select(roster_snapshots).where(roster_snapshots.c.member_id.in_(part))):
                    out[row.member_id] = _snapshot(row)
        return out

    def active(self) -> Iterator[StoredSnapshot]:
        with self.db.transaction() as session:
            result = session.execute(select(roster_snapshots).where(roster_snapshots.c.status == "active")
                                     .execution_options(yield_per=2000))
            for row in result:
                yield _snapshot(row)

    def record(self, snapshots: list[StoredSnapshot]) -> None:
        rows = [{"member_id": s.member_id, "event_id": s.event_id, "occurred_at": s.occurred_at, "status": s.status,
                 "body": json.dumps(s.body, separators=(",", ":")), "body_hash": s.body_hash} for s in snapshots]
        with self.db.transaction() as session:
            upsert(session, roster_snapshots, rows, ["member_id"])


    def seed(self, snapshots: list[StoredSnapshot], forgotten: list[tuple[str, datetime]]) -> tuple[int, int]:
        """Upsert ``snapshots`` unless the stored one occurred later, or is the same event (the
        topic's record wins a tie); delete the ``forgotten`` members whose stored snapshot did
        not occur after the tombstone. Returns (rows written, rows deleted)."""
        t = roster_snapshots
        written = deleted = 0
        with self.db.transaction() as session:
            if snapshots:
                rows = [{"member_id": s.member_id, "event_id": s.event_id, "occurred_at": s.occurred_at,
                         "status": s.status, "body": json.dumps(s.body, separators=(",", ":")),
                         "body_hash": s.body_hash} for s in snapshots]
                if session.get_bind().dialect.name == "postgresql":
                    from sqlalchemy.dialects.postgresql import insert as dialect_insert
                else:
                    from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[no-redef]
                stmt = dialect_insert(t)
                new = stmt.excluded
                stmt = stmt.on_conflict_do_update(
                    index_elements=["member_id"],
                    set_={c.name: new[c.name] for c in t.columns if c.name != "member_id"},
                    where=or_(new.occurred_at > t.c.occurred_at,
                              (new.occurred_at == t.c.occurred_at) & (new.event_id != t.c.event_id)),
                ).returning(t.c.member_id)
                written = len(session.execute(stmt, rows).all())
            for member_id, at in forgotten:
                deleted += session.execute(delete(t).where(t.c.member_id == member_id,
                                                           t.c.occurred_at <= at)).rowcount or 0
        return written, deleted


class SqlClaimVersions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def for_members(self, member_ids: list[str]) -> dict[str, list[ClaimLink]]:
        cv = claim_versions_loaded.c
        out: dict[str, list[ClaimLink]] = defaultdict(list)
        with self.db.transaction() as session:
            for part in _chunks(sorted(member_ids)):
                for r in session.execute(select(cv.member_id, cv.event_id, cv.claim_id, cv.frequency_code,
                                                cv.original_claim_id).where(cv.member_id.in_(part))):
                    out[r.member_id].append(ClaimLink(r.event_id, r.claim_id, r.frequency_code, r.original_claim_id))
        return out

    def record(self, versions: Iterable[tuple[str, ClaimLink]]) -> None:
        rows = {(m, v.event_id): {"member_id": m, "event_id": v.event_id, "claim_id": v.claim_id,
                                  "frequency_code": v.frequency_code, "original_claim_id": v.original_claim_id}
                for m, v in versions}
        with self.db.transaction() as session:
            insert_ignore(session, claim_versions_loaded, list(rows.values()))
