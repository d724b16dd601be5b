"""The outbox of the worker's batches: notifications (``notification_events``, the snapshot every
payload is built from) and one delivery per matching subscription, numbered per subscription from
its counter (rows locked in one order by every writer), in the batch's transaction. On PostgreSQL
each is one statement per batch, the rows as one JSON parameter (see ``bulk.py``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.chunks import chunks

from ..domain.model import Notification
from ..domain.subscription import Subscription
from . import rows, tables as tb
from .bulk import json_rows

_SUBS: dict[tuple[str, int], Subscription] = {}  # (id, version) -> configuration, shared by the batches


class SqlOutbox:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.pg = s.get_bind().dialect.name == "postgresql"
        self._subs: list[Subscription] | None = None
        self.created_by_topic: Counter[str] = Counter()

    def subscriptions(self) -> Sequence[Subscription]:
        """Those not off, read as (id, version) with the configurations cached per version (a change
        of configuration or status makes a new version)."""
        if self._subs is None:
            s_ = tb.subscriptions
            current = self.s.execute(select(s_.c.id, s_.c.version).where(s_.c.status != "off")).all()
            missing = [r.id for r in current if (r.id, r.version) not in _SUBS]
            if missing:
                for r in self.s.execute(select(s_).where(s_.c.id.in_(missing))):
                    _SUBS[(r.id, r.version)] = rows.subscription_of(r)
                if len(_SUBS) > 2 * len(current) + 100:
                    live = {(r.id, r.version) for r in current}
                    for key in [k for k in _SUBS if k not in live]:
                        _SUBS.pop(key, None)
            self._subs = [_SUBS[(r.id, r.version)] for r in current if (r.id, r.version) in _SUBS]
        return self._subs

    def append(self, owed: Sequence[tuple[Notification, Sequence[Subscription]]]) -> int:
        now = datetime.now(timezone.utc)
        new_ids = self._insert_notifications([n for n, _ in owed], now)
        per_sub: Counter[str] = Counter()
        fresh = [(n, subs) for n, subs in owed if str(n.event_id) in new_ids]
        for _n, subs in fresh:
            for sub in subs:
                per_sub[sub.id] += 1
        if not per_sub:
            return 0
        next_number: dict[str, int] = {}
        for sub_id in sorted(per_sub):  # one lock order for every writer: no deadlocks
            end = self.s.execute(COUNT_EVENTS, {"n": per_sub[sub_id], "id": sub_id}).scalar_one()
            next_number[sub_id] = end - per_sub[sub_id] + 1
        out = []
        for n, subs in fresh:
            for sub in subs:
                number = next_number[sub.id]
                next_number[sub.id] += 1
                self.created_by_topic[n.topic] += 1
                out.append({"subscription_id": sub.id, "event_id": str(n.event_id), "event_number": number,
                            "member_id": n.member_id, "state": "pending", "attempts": 0, "created_at": now,
                            "due_at": now})
        if self.pg:
            self.s.execute(INSERT_DELIVERIES, {"now": now, "rows": json_rows(
                [{"s": d["subscription_id"], "e": d["event_id"], "n": d["event_number"], "m": d["member_id"]}
                 for d in out])})
        else:
            for part in chunks(out, 2000):
                self.s.execute(tb.deliveries.insert(), part)
        return len(out)

    def _insert_notifications(self, notes: list[Notification], now: datetime) -> set[str]:
        unique = list({str(n.event_id): n for n in notes}.values())
        if self.pg:
            return {r[0] for r in self.s.execute(INSERT_NOTIFICATIONS, {"now": now, "rows": json_rows([
                {"e": str(n.event_id), "t": n.topic, "m": n.member_id, "o": n.occurred_at.isoformat(),
                 "r": n.recorded_at.isoformat(), "src": str(n.source_event_id), "ft": n.focus_type, "fi": n.focus_id,
                 "a": n.audience.as_dict(), "f": n.facts, "h": n.hl7} for n in unique])})}
        from sqlalchemy.dialects.sqlite import insert as ins
        found: set[str] = set()
        for part in chunks(unique, 500):
            stmt = ins(tb.notification_events).on_conflict_do_nothing().returning(tb.notification_events.c.event_id)
            found.update(r[0] for r in self.s.execute(stmt, [rows.notification_row(n, now) for n in part]))
        return found


# PostgreSQL: one statement per batch whatever its size, the rows as one JSON parameter (see bulk.py)
COUNT_EVENTS = text("UPDATE subscriptions SET events_count = events_count + :n WHERE id = :id RETURNING events_count")

INSERT_NOTIFICATIONS = text("""
INSERT INTO notification_events (event_id, topic, member_id, occurred_at, recorded_at, source_event_id, focus_type,
                                 focus_id, audience, facts, hl7, created_at)
SELECT x.e, x.t, x.m, x.o, x.r, x.src, x.ft, x.fi, x.a, x.f, x.h, :now
FROM json_to_recordset(CAST(:rows AS json)) AS x(e varchar, t varchar, m varchar, o timestamptz, r timestamptz,
                                                 src varchar, ft varchar, fi varchar, a json, f json, h text)
ON CONFLICT DO NOTHING RETURNING event_id
""")

INSERT_DELIVERIES = text("""
INSERT INTO deliveries (subscription_id, event_id, event_number, member_id, state, attempts, created_at, due_at)
SELECT x.s, x.e, x.n, x.m, 'pending', 0, :now, :now
FROM json_to_recordset(CAST(:rows AS json)) AS x(s varchar, e varchar, n bigint, m varchar)
""")
