"""The dispatcher's store, the rarer parts: subscriptions past their end, receivers that were
down, FHIR handshakes and heartbeats, and the secrets (cached per subscription version)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from ..app.ports import Control
from ..domain import topics as t
from ..domain.subscription import Subscription
from . import rows, tables as tb

d_, s_, ds_ = tb.deliveries, tb.subscriptions, tb.dispatch_state


class SubscriptionChecks:
    """Mixed into ``SqlDispatchStore`` (``self.db``, ``self.box``, the key caches)."""

    # ------------------------------------------------------------------ receivers that were down
    def unreachable(self, now: datetime) -> list[Subscription]:
        """Active subscriptions waiting out a backoff after failing to connect (the receiver was down:
        refused, unreachable, not resolving, no answer to the connection)."""
        with self.db.transaction() as s:
            found = s.execute(select(s_).join(ds_, ds_.c.subscription_id == s_.c.id).where(
                s_.c.status == "active", ds_.c.failures > 0, ds_.c.retry_at > now,
                ds_.c.last_error.like("connect %"))).all()
        return [rows.subscription_of(r) for r in found]

    def probe_now(self, subscription_id: str, now: datetime) -> bool:
        """The receiver answers connections again: its probe is due now (not at the end of the backoff)."""
        with self.db.transaction() as s:
            done = s.execute(update(ds_).where(ds_.c.subscription_id == subscription_id, ds_.c.failures > 0,
                                                ds_.c.retry_at > now).values(retry_at=now)).rowcount
            if done:
                s.execute(update(d_).where(d_.c.subscription_id == subscription_id, d_.c.state == "pending",
                                           d_.c.due_at > now).values(due_at=now))
        return bool(done)

    # ------------------------------------------------------------------ subscriptions that reached their end
    def end_due(self, now: datetime) -> list[str]:
        """Subscriptions whose ``end`` has passed are turned ``off`` (FHIR: an ended subscription is
        off); their undelivered notifications stay in the log, owed no more. Returns their ids."""
        with self.db.transaction() as s:
            due = [r.id for r in s.execute(select(s_.c.id, s_.c.end_at).where(
                s_.c.end_at.is_not(None), s_.c.end_at <= now, s_.c.status.in_(("requested", "active", "error"))))]
            for sub_id in due:
                s.execute(update(s_).where(s_.c.id == sub_id, s_.c.end_at <= now,
                                           s_.c.status.in_(("requested", "active", "error")))
                          .values(status="off", status_reason="reached its end", version=s_.c.version + 1,
                                  updated_at=now))
        return due

    # ------------------------------------------------------------------ handshakes and heartbeats
    def controls(self, now: datetime, owner: str, lease_until: datetime) -> list[Control]:
        out: list[Control] = []
        with self.db.transaction() as s:
            cands = s.execute(select(s_, ds_.c.last_sent_at, ds_.c.control_until)
                              .join(ds_, ds_.c.subscription_id == s_.c.id)
                              .where(s_.c.channel == t.FHIR, s_.c.status.in_(("requested", "active")),
                                     or_(ds_.c.control_until.is_(None), ds_.c.control_until < now))).all()
        for r in cands:
            sub = rows.subscription_of(r)
            if sub.status == "requested":
                kind = "handshake"
            elif sub.heartbeat_period_s and (r.last_sent_at or sub.created_at) + timedelta(
                    seconds=sub.heartbeat_period_s) <= now and (sub.end is None or now < sub.end):
                kind = "heartbeat"
            else:
                continue
            with self.db.transaction() as s:
                claimed = s.execute(update(ds_).where(
                    ds_.c.subscription_id == sub.id,
                    or_(ds_.c.control_until.is_(None), ds_.c.control_until < now))
                    .values(control_until=lease_until, control_owner=owner,
                            last_sent_at=now if kind == "heartbeat" else ds_.c.last_sent_at)).rowcount
            if claimed:
                out.append(Control(kind, sub))
        return out

    # ------------------------------------------------------------------ secrets
    def signing_keys(self, sub: Subscription, now: datetime) -> list[bytes]:
        key = (sub.id, sub.version)
        hit = self._keys.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        sec = tb.subscription_secrets
        with self.db.transaction() as s:
            found = s.execute(select(sec.c.sealed).where(
                sec.c.subscription_id == sub.id, sec.c.kind == "webhook",
                or_(sec.c.expires_at.is_(None), sec.c.expires_at > now)).order_by(sec.c.id.desc())).all()
        keys = [self.box.open(r.sealed, f"{sub.id}|webhook") for r in found]
        self._keys[key] = (time.monotonic() + self.key_cache_s, keys)
        return keys

    def channel_headers(self, sub: Subscription) -> dict[str, str]:
        key = (sub.id, sub.version)
        hit = self._headers.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        sec = tb.subscription_secrets
        with self.db.transaction() as s:
            found = s.execute(select(sec.c.sealed).where(sec.c.subscription_id == sub.id, sec.c.kind == "headers")
                              .order_by(sec.c.id.desc()).limit(1)).first()
        headers: dict[str, str] = {}
        if found:
            for line in json.loads(self.box.open(found.sealed, f"{sub.id}|headers")):
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
        self._headers[key] = (time.monotonic() + self.key_cache_s, headers)
        return headers

    def events_count(self, subscription_id: str) -> int:
        with self.db.transaction() as s:
            return s.execute(select(s_.c.events_count).where(s_.c.id == subscription_id)).scalar() or 0
