"""The dispatcher's store on SQLAlchemy: leases and attempts (the rarer parts are in
``subscription_checks_sql.py``).

Leasing: per subscription with owed deliveries due, its ``dispatch_state`` row is locked (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL: one dispatcher leases for a subscription at a time, the
others move on); the window is the subscription's ``max_in_flight`` x ``PREFETCH`` (1 while it is
failing: the probe; none before its ``retry_at``) minus the deliveries already leased; the
deliveries leased are the oldest owed that are each the head of their member's order (no earlier
owed delivery of the same member in the subscription), found among the oldest ``HEAD_SCAN_MAX``
owed (a member whose head lies beyond waits its turn). On PostgreSQL that is one statement
(``dispatch_pg.py``); on SQLite (``./ccp demo``) the same rule in portable steps. A lease expires
(``LEASE_S``, and no later than the attempts' timeout + 15 s): a dispatcher that died mid-send
leaves its deliveries to the others, who send them again with the same ids. Recording checks the
lease owner, so a late result of an expired lease never overwrites a newer one (its attempt row is
still kept); a delivery given up is kept as a dead letter in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import DBAPIError

from shared.db import Database

from ..app.ports import AttemptResult, Leased
from ..domain.subscription import Subscription
from . import dead_letters, dispatch_pg as pg, rows, tables as tb
from .secretbox import SecretBox
from .subscription_checks_sql import SubscriptionChecks

LEASE_MARGIN_S = 15.0
d_, s_, ds_ = tb.deliveries, tb.subscriptions, tb.dispatch_state

HEAD_SCAN_MIN, HEAD_SCAN_MAX = 500, 5000
PREFETCH = 4  # deliveries leased per subscription: this many times its max_in_flight (requests open at once)


class SqlDispatchStore(SubscriptionChecks):
    def __init__(self, db: Database, box: SecretBox, key_cache_s: float = 30.0) -> None:
        self.db = db
        self.box = box
        self.pg = db.engine.dialect.name == "postgresql"
        self._keys: dict[tuple[str, int], tuple[float, list[bytes]]] = {}
        self._headers: dict[tuple[str, int], tuple[float, dict[str, str]]] = {}
        self.key_cache_s = key_cache_s
        self._healthy: dict[str, float] = {}  # subscription -> when this process last recorded it healthy
        self._subs: dict[tuple[str, int], Subscription] = {}  # (id, version) -> configuration

    # ------------------------------------------------------------------ lease
    def lease(self, now: datetime, owner: str, lease_until: datetime, batch: int) -> list[Leased]:
        return _once_more_if_disconnected(lambda: self._lease(now, owner, lease_until, batch))

    def _lease(self, now: datetime, owner: str, lease_until: datetime, batch: int) -> list[Leased]:
        with self.db.transaction() as s:
            ready = d_.alias("ready")
            owed = (select(ready.c.id).where(ready.c.subscription_id == s_.c.id, ready.c.state == "pending",
                                             ready.c.due_at <= now,
                                             or_(ready.c.leased_until.is_(None), ready.c.leased_until < now))
                    .exists())
            subs = s.execute(
                select(s_.c.id, s_.c.version, s_.c.events_count, ds_.c.failures)
                .join(ds_, ds_.c.subscription_id == s_.c.id)
                .where(s_.c.status == "active", or_(s_.c.end_at.is_(None), s_.c.end_at > now),
                       or_(ds_.c.retry_at.is_(None), ds_.c.retry_at <= now), owed)).all()
            missing = [r.id for r in subs if (r.id, r.version) not in self._subs]
            if missing:
                for r in s.execute(select(s_).where(s_.c.id.in_(missing))):
                    self._subs[(r.id, r.version)] = rows.subscription_of(r)
                if len(self._subs) > 4 * len(subs) + 100:  # old versions
                    live = {(r.id, r.version) for r in subs}
                    self._subs = {k: v for k, v in self._subs.items() if k in live}
        out: list[Leased] = []
        for r in subs:
            if len(out) >= batch:
                break
            sub = self._subs.get((r.id, r.version))
            if sub is None:
                continue
            if sub.events_count != r.events_count:
                sub = replace(sub, events_count=r.events_count)
            lease_one = self._lease_one_pg if self.pg else self._lease_one
            out.extend(lease_one(sub, r.failures, now, owner, lease_until, batch - len(out)))
        return out

    def _lease_one_pg(self, sub: Subscription, failures: int, now: datetime, owner: str, until: datetime,
                      room: int) -> list[Leased]:
        window = sub.max_in_flight * PREFETCH
        # the lease outlives the attempts (their timeout) by a margin, and no more: a dispatcher that
        # died leaves its deliveries to the others soon after
        with self.db.engine.begin() as conn:
            picked = pg.lease(conn, sub.id, now=now, owner=owner, room=room, window=window,
                              scan=min(HEAD_SCAN_MAX, max(HEAD_SCAN_MIN, 10 * window)),
                              until=min(until, now + timedelta(seconds=sub.timeout_s * PREFETCH + LEASE_MARGIN_S)),
                              until_probe=min(until, now + timedelta(seconds=sub.timeout_s + LEASE_MARGIN_S)))
        return [Leased(delivery_id=p.id, subscription=sub, notification=rows.notification_of(p),
                       event_number=p.event_number, attempts=p.attempts, created_at=p.created_at,
                       failures=p.failures or 0)
                for p in sorted(picked, key=lambda p: p.event_number)]

    def _lease_one(self, sub: Subscription, failures: int, now: datetime, owner: str, until: datetime,
                   room: int) -> list[Leased]:
        with self.db.transaction() as s:
            lock = select(ds_.c.failures, ds_.c.retry_at).where(ds_.c.subscription_id == sub.id)
            if self.pg:
                lock = lock.with_for_update(skip_locked=True)
            state = s.execute(lock).first()
            if state is None:
                return []
            failures = state.failures
            if failures and state.retry_at is not None and state.retry_at > now:
                return []
            limit = 1 if failures else sub.max_in_flight * PREFETCH
            # The oldest owed deliveries in event order (an index range scan, bounded): each member's first
            # one is its head; a head that is due and not leased can go. Done here rather than with an
            # anti-join, whose plan (on a table that grew since its statistics) can turn quadratic.
            scan = min(HEAD_SCAN_MAX, max(HEAD_SCAN_MIN, 10 * limit))
            owed = s.execute(select(d_.c.id, d_.c.member_id, d_.c.due_at, d_.c.leased_until)
                             .where(d_.c.subscription_id == sub.id, d_.c.state == "pending")
                             .order_by(d_.c.event_number).limit(scan)).all()
            in_flight = sum(1 for r in owed if r.leased_until is not None and r.leased_until >= now)
            n = min(limit - in_flight, room)
            if n <= 0:
                return []
            seen: set[str] = set()
            ids: list[int] = []
            for r in owed:
                if r.member_id in seen:
                    continue
                seen.add(r.member_id)
                if r.due_at <= now and (r.leased_until is None or r.leased_until < now):
                    ids.append(r.id)
                    if len(ids) >= n:
                        break
            if not ids:
                return []
            q = select(d_.c.id).where(d_.c.id.in_(ids), d_.c.state == "pending",
                                      or_(d_.c.leased_until.is_(None), d_.c.leased_until < now))
            if self.pg:
                q = q.with_for_update(skip_locked=True)
            ids = [r[0] for r in s.execute(q)]
            if not ids:
                return []
            # the lease outlives the attempt (its timeout) by a margin, and no more: a dispatcher
            # that died leaves its deliveries to the others soon after
            until = min(until, now + timedelta(seconds=sub.timeout_s * (1 if failures else PREFETCH) + LEASE_MARGIN_S))
            picked = s.execute(update(d_).where(d_.c.id.in_(ids)).values(leased_until=until, lease_owner=owner)
                               .returning(d_.c.id, d_.c.event_id, d_.c.event_number, d_.c.attempts,
                                          d_.c.created_at)).all()
            notes = {r.event_id: rows.notification_of(r) for r in s.execute(
                select(tb.notification_events).where(tb.notification_events.c.event_id.in_([p.event_id for p in picked])))}
        return [Leased(delivery_id=p.id, subscription=sub, notification=notes[p.event_id], event_number=p.event_number,
                       attempts=p.attempts, created_at=p.created_at, failures=failures)
                for p in sorted(picked, key=lambda p: p.event_number)]

    # ------------------------------------------------------------------ record
    def record(self, results: Sequence[AttemptResult], now: datetime, owner: str) -> None:
        _once_more_if_disconnected(lambda: self._record(results, now, owner))

    def _record(self, results: Sequence[AttemptResult], now: datetime, owner: str) -> None:
        events = [r for r in results if r.delivery_id is not None]
        controls = [r for r in results if r.delivery_id is None]
        with self.db.transaction() as s:
            if events and self.pg:
                pg.record_deliveries(s.connection(), events, now, owner)
            elif events:
                s.execute(update(d_).where(d_.c.id == bindparam("b_id"), d_.c.lease_owner == owner).values(
                    state=bindparam("b_state"), attempts=d_.c.attempts + 1, leased_until=None, lease_owner=None,
                    delivered_at=bindparam("b_delivered"), due_at=bindparam("b_due"),
                    last_status=bindparam("b_status"), last_error=bindparam("b_error")),
                    [{"b_id": r.delivery_id, "b_state": r.state,
                      "b_delivered": r.started_at if r.state == "delivered" else None,
                      "b_due": r.due_at or now, "b_status": r.outcome.status[:32],
                      "b_error": (r.outcome.error or None) and r.outcome.error[:1000]} for r in events],
                    execution_options={"synchronize_session": False})
            dead = [r for r in events if r.state == "dead"]
            if dead:
                dead_letters.keep(s, dead, now)
            if events:
                last: dict[str, AttemptResult] = {}
                for r in events:
                    last[r.subscription_id] = r
                for sub_id, r in sorted(last.items()):
                    # a success changes the subscription's state only after failures, or once a second
                    # (the heartbeat clock): steady deliveries do not touch (and lock) the row the
                    # leasing dispatchers lock
                    mono = time.monotonic()
                    if r.outcome.ok and self._healthy.get(sub_id, 0.0) > mono - 1.0:
                        continue
                    values: dict = {"failures": r.failures, "last_sent_at": now}
                    if r.outcome.ok:
                        values.update(retry_at=None, last_success_at=now)
                        self._healthy[sub_id] = mono
                    else:
                        values.update(retry_at=r.due_at, last_failure_at=now,
                                      last_error=f"{r.outcome.status} {r.outcome.error or ''}"[:1000])
                        self._healthy.pop(sub_id, None)
                    s.execute(update(ds_).where(ds_.c.subscription_id == sub_id).values(**values))
            for r in [*events, *controls]:
                if r.subscription_error:
                    s.execute(update(s_).where(s_.c.id == r.subscription_id, s_.c.status.in_(("active", "requested")))
                              .values(status="error", status_reason=r.subscription_error[:1000],
                                      version=s_.c.version + 1, updated_at=now))
            for r in controls:
                if r.kind == "handshake" and r.outcome.ok:
                    s.execute(update(s_).where(s_.c.id == r.subscription_id, s_.c.status == "requested")
                              .values(status="active", status_reason=None, version=s_.c.version + 1, updated_at=now))
                s.execute(update(ds_).where(ds_.c.subscription_id == r.subscription_id, ds_.c.control_owner == owner)
                          .values(control_until=None, control_owner=None))
            if self.pg:
                pg.record_attempts(s.connection(), results, owner)
                return
            s.execute(insert(tb.attempts), [{
                "subscription_id": r.subscription_id, "delivery_id": r.delivery_id,
                "event_id": str(r.event_id) if r.event_id else None, "kind": r.kind, "at": r.started_at,
                "endpoint": r.endpoint[:2000], "status": r.outcome.status[:32], "ok": r.outcome.ok,
                "latency_ms": round(r.outcome.latency_s * 1000, 3),
                "error": (r.outcome.error or None) and r.outcome.error[:1000], "dispatcher": owner[:100]}
                for r in results])

def _once_more_if_disconnected(fn):
    """The worker's pool does not test connections before lending them (no pre-ping round trip):
    a statement that finds its connection dropped (the database restarted) runs once more on a new
    one. (A drop during a commit leaves it unknown whether the commit happened: recording again
    can then log an attempt twice; the deliveries' states are guarded by the lease owner.)"""
    try:
        return fn()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return fn()


__all__ = ["SqlDispatchStore", "and_"]
