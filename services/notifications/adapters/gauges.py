"""Backlog, oldest undelivered age, dead letters and status per subscription, from the database."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from shared.db import Database

from .. import metrics
from . import tables as tb

_seen: set[str] = set()
_seen_status: set[tuple[str, str, str]] = set()


def refresh(db: Database) -> None:
    now = datetime.now(timezone.utc)
    d, s = tb.deliveries, tb.subscriptions
    with db.transaction() as session:
        subs = session.execute(select(s.c.id, s.c.channel, s.c.status)).all()
        owed = {r.subscription_id: (r.n, r.oldest) for r in session.execute(
            select(d.c.subscription_id, func.count().label("n"), func.min(d.c.created_at).label("oldest"))
            .where(d.c.state == "pending").group_by(d.c.subscription_id))}
        dead = dict(session.execute(select(d.c.subscription_id, func.count()).where(d.c.state == "dead")
                                    .group_by(d.c.subscription_id)).all())
    ids = {r.id for r in subs}
    for gone in _seen - ids:
        for g in (metrics.BACKLOG, metrics.OLDEST, metrics.DEAD):
            g.labels(gone).set(0)
    statuses = set()
    for r in subs:
        n, oldest = owed.get(r.id, (0, None))
        metrics.BACKLOG.labels(r.id).set(n)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        metrics.OLDEST.labels(r.id).set((now - oldest).total_seconds() if oldest else 0)
        metrics.DEAD.labels(r.id).set(dead.get(r.id, 0))
        for st in ("requested", "active", "error", "off"):
            key = (r.id, r.channel, st)
            metrics.STATUS.labels(*key).set(1 if st == r.status else 0)
            statuses.add(key)
    for key in _seen_status - statuses:
        metrics.STATUS.labels(*key).set(0)
    _seen.clear()
    _seen.update(ids)
    _seen_status.clear()
    _seen_status.update(statuses)
