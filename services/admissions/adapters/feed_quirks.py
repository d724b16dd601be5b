"""The feed-quirks report: per sending facility, messages accepted / refused / resent, the
warnings by field and kind, the refusal reasons — what an integration analyst needs to see at
a glance what each sender does oddly.

Choice: the gateway counts in memory (``QuirkTally.record``, a few dict increments on the ACK
path) and a background task adds the counts to the ``feed_quirks`` table every
``quirks_flush_s`` (1 s) in one insert-or-increment. The report survives restarts; what a
crash can lose is at most the last second's counts (counts, not messages: every message is on
``adt.events`` or ``adt.events.dlq``). Several processes (mllp, api) add to the same rows.
Facility names are bounded (1,000 per process, then ``(other)``); texts are this service's
own rule texts, never a value from the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import Database

from .. import metrics
from .tables import feed_quirks

log = logging.getLogger(__name__)

MAX_FACILITIES = 1000
OTHER = "(other)"

Key = tuple[str, str, str, str]


class QuirkTally:
    """``QuirkSink`` for the gateway: counts in memory, written behind to ``feed_quirks``."""

    def __init__(self, db: Database | None, flush_interval: float = 1.0) -> None:
        self.db = db
        self.flush_interval = flush_interval
        self._counts: dict[Key, list[Any]] = {}  # key -> [count, last text, first seen, last seen]
        self._facilities: set[str] = set()
        self._task: asyncio.Task | None = None

    def _facility(self, name: str) -> str:
        name = name[:64]
        if name in self._facilities:
            return name
        if len(self._facilities) >= MAX_FACILITIES:
            return OTHER
        self._facilities.add(name)
        return name

    def _add(self, key: Key, text: str | None, now: datetime) -> None:
        row = self._counts.get(key)
        if row is None:
            self._counts[key] = [1, text, now, now]
        else:
            row[0] += 1
            row[3] = now
            if text:
                row[1] = text

    def record(self, facility: str, outcome: str, *, warnings: Iterable[Any] = (), issues: Iterable[Any] = ()) -> None:
        now = datetime.now(timezone.utc)
        fac = self._facility(facility)
        self._add((fac, outcome, "", ""), None, now)
        for w in warnings:
            self._add((fac, "warning", w.field, w.kind), w.text[:300], now)
        for i in issues:
            self._add((fac, "refusal", i.where or "-", str(i.code)), i.text[:300], now)

    def pending(self) -> dict[Key, list[Any]]:
        return dict(self._counts)

    # ------------------------------------------------------------------ write-behind
    async def start(self) -> None:
        if self.db is not None:
            self._task = asyncio.create_task(self._flusher(), name="quirks-flusher")

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush()

    async def flush(self) -> None:
        if not self._counts or self.db is None:
            return
        rows, self._counts = self._counts, {}
        try:
            await asyncio.to_thread(self._write, rows)
        except Exception as exc:  # noqa: BLE001 - keep the counts for the next flush
            metrics.QUIRK_FLUSH_FAILURES.inc()
            log.warning("could not write the feed-quirks tally (%s); will retry", exc.__class__.__name__)
            for key, (count, text, first, last) in rows.items():
                row = self._counts.setdefault(key, [0, text, first, last])
                row[0] += count
                row[2] = min(row[2], first)

    def _write(self, rows: dict[Key, list[Any]]) -> None:
        assert self.db is not None
        with self.db.transaction() as session:
            add_counts(session, [{"facility": k[0], "category": k[1], "field": k[2], "kind": k[3], "count": v[0],
                                  "last_text": v[1], "first_seen": v[2], "last_seen": v[3]} for k, v in rows.items()])

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


def add_counts(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or add their counts to the rows already there (PostgreSQL and SQLite)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[no-redef]
    stmt = dialect_insert(feed_quirks)
    t = feed_quirks.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["facility", "category", "field", "kind"],
        set_={"count": t.count + stmt.excluded["count"], "last_seen": stmt.excluded["last_seen"],
              "last_text": stmt.excluded["last_text"]})
    session.execute(stmt, rows)


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


class SqlFeedReport:
    """The report's read (``app/ports.FeedReport``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def report(self, facility: str | None = None) -> list[dict[str, Any]]:
        """Per sending facility: accepted, refused, duplicates, warnings (field, kind, count, text),
        refusal reasons (where, code, count, text), first and last seen. Facilities sorted by name."""
        q = select(feed_quirks)
        if facility is not None:
            q = q.where(feed_quirks.c.facility == facility)
        out: dict[str, dict[str, Any]] = {}
        for r in self.session.execute(q).mappings():
            f = out.setdefault(r["facility"], {"facility": r["facility"], "accepted": 0, "refused": 0, "duplicates": 0,
                                               "warnings": [], "refusals": [], "first_seen": None, "last_seen": None})
            first, last = _utc(r["first_seen"]), _utc(r["last_seen"])
            f["first_seen"] = first if f["first_seen"] is None else min(f["first_seen"], first)
            f["last_seen"] = last if f["last_seen"] is None else max(f["last_seen"], last)
            cat = r["category"]
            if cat == "accepted":
                f["accepted"] += r["count"]
            elif cat == "refused":
                f["refused"] += r["count"]
            elif cat == "duplicate":
                f["duplicates"] += r["count"]
            elif cat == "warning":
                f["warnings"].append({"field": r["field"], "kind": r["kind"], "count": r["count"], "text": r["last_text"]})
            elif cat == "refusal":
                f["refusals"].append({"where": r["field"], "code": r["kind"], "count": r["count"], "text": r["last_text"]})
        for f in out.values():
            f["warnings"].sort(key=lambda w: (-w["count"], w["field"], w["kind"]))
            f["refusals"].sort(key=lambda w: (-w["count"], w["where"], w["code"]))
        return [out[k] for k in sorted(out)]
