"""The gateway's duplicate store: (sending facility, MSH-10) → the ACK sent when it was accepted.

Choice (documented in the README): nothing on the ACK path waits for the database.

- ``get`` and ``put`` work on an in-memory LRU (``dedupe_memory_entries`` entries, ~0.5 KB each);
- accepted ACKs are written behind, in batches every ``flush_interval`` seconds, to the
  ``mllp_acks`` table (insert-or-ignore, no per-message fsync on the ACK path);
- at start the most recent entries of the last ``retention_days`` are read back into memory,
  so a sender that resends after a restart still gets the same ACK; older rows are pruned.

What can slip through: a duplicate that arrives at a second listener process, or after a crash
that lost the last unflushed ACKs (≤ ``flush_interval`` s), or older than the memory window.
It is published again with the same deterministic event id (derived from facility + MSH-10),
and the worker's ``processed_events`` check drops it: no second alert, no second transition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from shared.db import Database, insert_ignore

from .. import metrics
from .tables import mllp_acks

log = logging.getLogger(__name__)

_PG_INSERT = text(
    "INSERT INTO mllp_acks (sending_facility, control_id, ack, accepted_at) "
    "SELECT * FROM unnest(CAST(:f AS text[]), CAST(:c AS text[]), CAST(:a AS bytea[]), CAST(:t AS timestamptz[])) "
    "ON CONFLICT DO NOTHING")  # the table of the connection's search_path (the service's schema)
MAX_PENDING = 100_000  # unflushed rows kept while the database is down (then the oldest are dropped)


class WriteBehindDedupe:
    in_memory = True  # get/put touch only the LRU; the database is written behind (see the module doc)

    def __init__(self, db: Database | None, *, capacity: int = 500_000, flush_interval: float = 0.25,
                 retention_days: int = 7) -> None:
        self.db = db
        self.capacity = capacity
        self.flush_interval = flush_interval
        self.retention = timedelta(days=retention_days)
        self._acks: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._pending: list[dict] = []
        self._task: asyncio.Task | None = None
        self._last_prune = 0.0

    # ------------------------------------------------------------------ DedupeStore
    async def get(self, sending_facility: str, control_id: str) -> bytes | None:
        key = (sending_facility, control_id)
        ack = self._acks.get(key)
        if ack is not None:
            self._acks.move_to_end(key)
        return ack

    async def put(self, sending_facility: str, control_id: str, ack: bytes) -> None:
        self._remember((sending_facility, control_id), ack)
        if self.db is not None:
            self._pending.append({"sending_facility": sending_facility, "control_id": control_id, "ack": ack,
                                  "accepted_at": datetime.now(timezone.utc)})
            if len(self._pending) > MAX_PENDING:
                del self._pending[: len(self._pending) - MAX_PENDING]

    def _remember(self, key: tuple[str, str], ack: bytes) -> None:
        self._acks[key] = ack
        self._acks.move_to_end(key)
        while len(self._acks) > self.capacity:
            self._acks.popitem(last=False)

    def __len__(self) -> int:
        return len(self._acks)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self.db is None:
            return
        since = datetime.now(timezone.utc) - self.retention
        try:
            rows = await asyncio.to_thread(self._warm, since)
        except Exception as exc:  # noqa: BLE001 - a cold cache is safe (the worker dedupes by event id)
            log.warning("could not read recent ACKs back (%s); starting with an empty duplicate cache",
                        exc.__class__.__name__)
            rows = []
        for facility, control_id, ack in rows:
            self._remember((facility, control_id), ack)
        log.info("duplicate cache warmed with %d recent ACKs", len(rows))
        self._task = asyncio.create_task(self._flusher(), name="dedupe-flusher")

    def _warm(self, since: datetime) -> list[tuple[str, str, bytes]]:
        assert self.db is not None
        with self.db.transaction() as session:
            _prune(session, since)
            return _recent(session, since, self.capacity)

    async def _flusher(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush()
            if loop.time() - self._last_prune > 3600:
                self._last_prune = loop.time()
                try:
                    await asyncio.to_thread(self._prune)
                except Exception:  # noqa: BLE001 - pruning is housekeeping; try again in an hour
                    metrics.DEDUPE_FLUSH_FAILURES.inc()

    def _prune(self) -> None:
        assert self.db is not None
        with self.db.transaction() as session:
            _prune(session, datetime.now(timezone.utc) - self.retention)

    async def flush(self) -> None:
        if not self._pending or self.db is None:
            return
        rows, self._pending = self._pending, []
        try:
            await asyncio.to_thread(self._write, rows)
        except Exception as exc:  # noqa: BLE001 - keep them for the next flush
            metrics.DEDUPE_FLUSH_FAILURES.inc()
            log.warning("could not write %d accepted ACKs to the duplicate table (%s); will retry",
                        len(rows), exc.__class__.__name__)
            self._pending[:0] = rows
            del self._pending[: max(0, len(self._pending) - MAX_PENDING)]

    def _write(self, rows: list[dict]) -> None:
        assert self.db is not None
        unique = list({(r["sending_facility"], r["control_id"]): r for r in rows}.values())
        with self.db.transaction() as session:
            if session.get_bind().dialect.name == "postgresql":
                # one statement of four arrays: the flush thread holds the interpreter a fraction of
                # what an executemany of one parameter set per row does (the listener's loop waits on it)
                session.execute(_PG_INSERT, {"f": [r["sending_facility"] for r in unique],
                                             "c": [r["control_id"] for r in unique],
                                             "a": [r["ack"] for r in unique],
                                             "t": [r["accepted_at"] for r in unique]})
            else:
                insert_ignore(session, mllp_acks, unique)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # the flusher we just cancelled
                await self._task
            self._task = None
        await self.flush()


def _recent(session: Session, since: datetime, limit: int) -> list[tuple[str, str, bytes]]:
    """The most recent accepted ACKs since ``since`` (at most ``limit``), oldest first."""
    rows = session.execute(select(mllp_acks.c.sending_facility, mllp_acks.c.control_id, mllp_acks.c.ack)
                           .where(mllp_acks.c.accepted_at >= since)
                           .order_by(mllp_acks.c.accepted_at.desc()).limit(limit))
    return [(r[0], r[1], bytes(r[2])) for r in rows][::-1]


def _prune(session: Session, before: datetime) -> int:
    return session.execute(delete(mllp_acks).where(mllp_acks.c.accepted_at < before)).rowcount or 0
