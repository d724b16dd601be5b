"""Subscriptions, their secrets and the delivery log on SQLAlchemy (the API's side)."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone

from sqlalchemy import delete, func, insert, or_, select, update

from shared.db import Database

from ..app.subscriptions import Conflict, SecretSpec
from ..domain.model import Notification
from ..domain.subscription import Subscription
from . import rows, tables as tb, wakeups
from .secretbox import SecretBox

s_, d_, a_, sec_, ds_ = tb.subscriptions, tb.deliveries, tb.attempts, tb.subscription_secrets, tb.dispatch_state


class SystemResolver:
    def resolve(self, host: str, port: int) -> list[str]:
        return list(dict.fromkeys(i[4][0] for i in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


class SqlSubscriptionStore:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def _secret_rows(self, sub_id: str, secrets: list[SecretSpec], now: datetime) -> list[dict]:
        return [{"subscription_id": sub_id, "kind": x.kind, "sealed": self.box.seal(x.plaintext, f"{sub_id}|{x.kind}"),
                 "hint": x.hint, "created_at": now, "expires_at": x.expires_at} for x in secrets]

    def count(self) -> int:
        with self.db.transaction() as s:
            return s.execute(select(func.count()).select_from(s_)).scalar_one()

    def add(self, sub: Subscription, secrets: list[SecretSpec]) -> None:
        now = sub.created_at or datetime.now(timezone.utc)
        with self.db.transaction() as s:
            s.execute(insert(s_).values(
                id=sub.id, channel=sub.channel, status=sub.status, status_reason=sub.status_reason,
                practice_id=sub.practice_id, hospitalist_group=sub.hospitalist_group, endpoint=sub.endpoint,
                config=rows.subscription_config(sub), events_count=0, version=1, end_at=sub.end,
                created_by=sub.created_by, created_at=now, updated_at=now))
            s.execute(insert(ds_).values(subscription_id=sub.id, failures=0))
            if secrets:
                s.execute(insert(sec_), self._secret_rows(sub.id, secrets, now))

    def get(self, sub_id: str) -> Subscription | None:
        with self.db.transaction() as s:
            r = s.execute(select(s_).where(s_.c.id == sub_id)).first()
        return rows.subscription_of(r) if r else None

    def all(self) -> list[Subscription]:
        with self.db.transaction() as s:
            return [rows.subscription_of(r) for r in s.execute(select(s_).order_by(s_.c.created_at, s_.c.id))]

    def save(self, sub: Subscription, expected_version: int, secrets: list[SecretSpec] | None = None,
             reset_dispatch: bool = False) -> Subscription:
        now = sub.updated_at or datetime.now(timezone.utc)
        with self.db.transaction() as s:
            done = s.execute(update(s_).where(s_.c.id == sub.id, s_.c.version == expected_version).values(
                channel=sub.channel, status=sub.status, status_reason=sub.status_reason, endpoint=sub.endpoint,
                config=rows.subscription_config(sub), end_at=sub.end, version=s_.c.version + 1,
                updated_at=now)).rowcount
            if not done:
                raise Conflict()
            if secrets is not None:
                kinds = {x.kind for x in secrets}
                s.execute(delete(sec_).where(sec_.c.subscription_id == sub.id, sec_.c.kind.in_(kinds)))
                if secrets:
                    s.execute(insert(sec_), self._secret_rows(sub.id, secrets, now))
            if reset_dispatch:
                s.execute(update(ds_).where(ds_.c.subscription_id == sub.id).values(
                    failures=0, retry_at=None, control_until=None, control_owner=None))
                s.execute(update(d_).where(d_.c.subscription_id == sub.id, d_.c.state == "pending")
                          .values(due_at=now))
                wakeups.notify(s)
        found = self.get(sub.id)
        assert found is not None
        return found

    def delete(self, sub_id: str) -> None:
        with self.db.transaction() as s:
            s.execute(delete(sec_).where(sec_.c.subscription_id == sub_id))
            s.execute(delete(ds_).where(ds_.c.subscription_id == sub_id))
            s.execute(delete(d_).where(d_.c.subscription_id == sub_id, d_.c.state == "pending"))
            s.execute(delete(s_).where(s_.c.id == sub_id))

    def add_secret(self, sub_id: str, secret: SecretSpec, expire_others_at: datetime | None) -> None:
        now = datetime.now(timezone.utc)
        with self.db.transaction() as s:
            if expire_others_at is not None:
                s.execute(update(sec_).where(sec_.c.subscription_id == sub_id, sec_.c.kind == secret.kind,
                                             or_(sec_.c.expires_at.is_(None), sec_.c.expires_at > expire_others_at))
                          .values(expires_at=expire_others_at))
                s.execute(delete(sec_).where(sec_.c.subscription_id == sub_id, sec_.c.kind == secret.kind,
                                             sec_.c.expires_at <= now))
            s.execute(insert(sec_), self._secret_rows(sub_id, [secret], now))

    def redeliver(self, sub_id: str, now: datetime) -> int:
        with self.db.transaction() as s:
            n = s.execute(update(d_).where(d_.c.subscription_id == sub_id, d_.c.state == "dead")
                          .values(state="pending", due_at=now, attempts=0, created_at=now,
                                  leased_until=None, lease_owner=None)).rowcount
            if n:
                wakeups.notify(s)
            return n

    def events(self, sub_id: str, since: int, until: int) -> list[tuple[int, Notification]]:
        n = tb.notification_events
        with self.db.transaction() as s:
            found = s.execute(select(d_.c.event_number, n).join(n, n.c.event_id == d_.c.event_id)
                              .where(d_.c.subscription_id == sub_id, d_.c.event_number >= since,
                                     d_.c.event_number <= until).order_by(d_.c.event_number)).all()
        return [(r.event_number, rows.notification_of(r)) for r in found]

    def masked_headers(self, sub_id: str) -> list[str]:
        with self.db.transaction() as s:
            r = s.execute(select(sec_.c.sealed).where(sec_.c.subscription_id == sub_id, sec_.c.kind == "headers")
                          .order_by(sec_.c.id.desc()).limit(1)).first()
        if r is None:
            return []
        return [line.split(":", 1)[0].strip() + ": ***" for line in json.loads(self.box.open(r.sealed, f"{sub_id}|headers"))]

    def secret_hints(self, sub_id: str, now: datetime) -> list[dict]:
        with self.db.transaction() as s:
            found = s.execute(select(sec_.c.hint, sec_.c.created_at, sec_.c.expires_at).where(
                sec_.c.subscription_id == sub_id, sec_.c.kind == "webhook",
                or_(sec_.c.expires_at.is_(None), sec_.c.expires_at > now)).order_by(sec_.c.id)).all()
        return [{"ends_with": r.hint, "created_at": r.created_at, "expires_at": r.expires_at} for r in found]


class DeliveryLog:
    """The delivery log's reads: deliveries, attempts, per subscription and per event; stats."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def deliveries(self, sub_id: str, state: str | None, limit: int, after_number: int | None) -> list[dict]:
        q = select(d_).where(d_.c.subscription_id == sub_id)
        if state:
            q = q.where(d_.c.state == state)
        if after_number is not None:
            q = q.where(d_.c.event_number > after_number)
        q = q.order_by(d_.c.event_number).limit(limit)
        n = tb.notification_events
        with self.db.transaction() as s:
            found = s.execute(q).all()
            topics = dict(s.execute(select(n.c.event_id, n.c.topic).where(
                n.c.event_id.in_([r.event_id for r in found]))).all()) if found else {}
        return [{"event_id": r.event_id, "event_number": r.event_number, "topic": topics.get(r.event_id),
                 "state": r.state, "attempts": r.attempts, "created_at": r.created_at, "delivered_at": r.delivered_at,
                 "last_status": r.last_status, "last_error": r.last_error} for r in found]

    def attempts(self, *, sub_id: str | None = None, event_id: str | None = None, limit: int = 100) -> list[dict]:
        q = select(a_)
        if sub_id:
            q = q.where(a_.c.subscription_id == sub_id)
        if event_id:
            q = q.where(a_.c.event_id == event_id)
        q = q.order_by(a_.c.id.desc()).limit(limit)
        with self.db.transaction() as s:
            return [{"subscription_id": r.subscription_id, "event_id": r.event_id, "kind": r.kind, "at": r.at,
                     "endpoint": r.endpoint, "status": r.status, "ok": r.ok, "latency_ms": r.latency_ms,
                     "error": r.error} for r in s.execute(q)]

    def stats(self, sub_id: str, now: datetime) -> dict:
        with self.db.transaction() as s:
            pending = s.execute(select(func.count(), func.min(d_.c.created_at)).where(
                d_.c.subscription_id == sub_id, d_.c.state == "pending")).first()
            dead = s.execute(select(func.count()).where(d_.c.subscription_id == sub_id, d_.c.state == "dead")).scalar()
            delivered = s.execute(select(func.count()).where(d_.c.subscription_id == sub_id,
                                                             d_.c.state == "delivered")).scalar()
            tried = s.execute(select(func.count(), func.sum(func.cast(a_.c.ok, tb.Integer)), func.avg(a_.c.latency_ms))
                              .where(a_.c.subscription_id == sub_id, a_.c.kind == "event")).first()
            state = s.execute(select(ds_).where(ds_.c.subscription_id == sub_id)).first()
        oldest = pending[1]
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        return {"backlog": pending[0], "oldest_undelivered_s": (now - oldest).total_seconds() if oldest else None,
                "delivered": delivered, "dead": dead, "attempts": tried[0],
                "success_rate": (int(tried[1] or 0) / tried[0]) if tried[0] else None,
                "mean_latency_ms": float(tried[2]) if tried[2] is not None else None,
                "consecutive_failures": state.failures if state else 0,
                "retry_at": state.retry_at if state else None, "last_error": state.last_error if state else None,
                "last_success_at": state.last_success_at if state else None}

    def events_count(self, sub_id: str) -> int:
        with self.db.transaction() as s:
            return s.execute(select(s_.c.events_count).where(s_.c.id == sub_id)).scalar() or 0
