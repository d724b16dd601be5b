"""Dead letters: deliveries given up, kept and published to ``notifications.dead_letters``.

When an attempt's decision is ``dead``, the recording transaction adds a ``dead_letters`` row
(``keep``: the delivery, its notification's topic and member, the attempts, the reason) — it is
durable the moment the decision is. A timer of the worker (``publish``) then writes the unpublished
rows to Kafka, waits for the broker's confirmation and marks them published; a crash in between
republishes them with the same event ids (derived from the delivery and its owed-since time), which
consumers drop as duplicates. Several workers share the rows (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.db import Database, insert_ignore
from shared.events import Event, NotificationDeadLetteredV1

from ..app.ports import AttemptResult
from . import tables as tb

d_, ne_, s_, dl_ = tb.deliveries, tb.notification_events, tb.subscriptions, tb.dead_letters


def keep(s: Session, dead: Sequence[AttemptResult], now: datetime) -> None:
    """In the recording transaction: a row per delivery this round gave up (and that is dead now)."""
    reasons = {r.delivery_id: (r.subscription_error or r.outcome.error or "given up") for r in dead}
    found = s.execute(select(d_.c.id, d_.c.created_at, d_.c.subscription_id, s_.c.channel, d_.c.event_id, ne_.c.topic,
                             d_.c.member_id, d_.c.event_number, d_.c.attempts, d_.c.last_status)
                      .join(ne_, ne_.c.event_id == d_.c.event_id).join(s_, s_.c.id == d_.c.subscription_id)
                      .where(d_.c.id.in_(list(reasons)), d_.c.state == "dead")).all()
    insert_ignore(s, dl_, [{
        "delivery_id": r.id, "owed_since": r.created_at, "subscription_id": r.subscription_id, "channel": r.channel,
        "event_id": r.event_id, "topic": r.topic, "member_id": r.member_id, "event_number": r.event_number,
        "attempts": r.attempts, "last_status": r.last_status, "reason": reasons[r.id][:1000], "given_up_at": now,
        "published_at": None} for r in found])


def event_of(r) -> NotificationDeadLetteredV1:
    owed_since = r.owed_since
    return NotificationDeadLetteredV1(
        **NotificationDeadLetteredV1.envelope(
            occurred_at=r.given_up_at, source="notifications", member_id=r.member_id,
            causation_id=uuid.UUID(r.event_id), event_id=NotificationDeadLetteredV1.id_for(r.delivery_id, owed_since)),
        subscription_id=r.subscription_id, channel=r.channel, notification_id=uuid.UUID(r.event_id),
        notification_topic=r.topic, event_number=r.event_number, attempts=max(1, r.attempts), owed_since=owed_since,
        last_status=r.last_status, reason=r.reason)


def publish(db: Database, send: Callable[[list[Event]], object], now: datetime, limit: int = 500) -> int:
    """Publish unpublished dead letters (confirmed by the broker before they are marked); their count."""
    with db.transaction() as s:
        q = select(dl_).where(dl_.c.published_at.is_(None)).order_by(dl_.c.id).limit(limit)
        if db.engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        found = s.execute(q).all()
        if not found:
            return 0
        send([event_of(r) for r in found])  # raises unless every one is confirmed: nothing is marked then
        s.execute(update(dl_).where(dl_.c.id.in_([r.id for r in found])).values(published_at=now))
    return len(found)
