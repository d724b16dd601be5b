"""The dispatcher's hot statements on PostgreSQL: one round trip to lease a subscription's next
deliveries (with their notifications), two to record a round of attempts.

Leasing, in one ``UPDATE … FROM … RETURNING``:

- the subscription's ``dispatch_state`` row is locked ``FOR UPDATE SKIP LOCKED``: one dispatcher
  leases for a subscription at a time, the others get nothing back and move on;
- the oldest ``scan`` owed deliveries in event order (an index range scan on
  ``ix_deliveries_owed``) give each member's head (``DISTINCT ON (member_id)``); the heads that
  are due and not leased are leased, oldest first, up to the window: the subscription's
  ``window`` (1 while it is failing: the probe, none before its ``retry_at``) minus the
  deliveries of the scan already leased, and at most ``room``;
- the ``UPDATE`` re-checks ``state`` and the lease on the row it locks, so a row recorded or
  leased by someone else meanwhile is not taken twice;
- ``RETURNING`` carries the notification (joined), so building the payloads needs no other read.

Recording: one ``UPDATE … FROM json_to_recordset(…)`` of the deliveries (only those still leased
to this owner: the late result of an expired lease never overwrites a newer one) and one
``INSERT … SELECT FROM json_to_recordset(…)`` of the attempts. The rows go as one JSON parameter
rather than multi-row ``VALUES`` or arrays: the statement text stays the same whatever the
round's size (no per-row SQL to build and parse) and the rows are encoded by the json module's C
encoder (psycopg dumps arrays element by element, in Python).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, text
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime

from ..app.ports import AttemptResult
from .bulk import json_rows

LEASE = text("""
WITH st AS (
    SELECT failures, retry_at FROM dispatch_state WHERE subscription_id = :sub FOR UPDATE SKIP LOCKED
), owed AS (
    SELECT id, member_id, due_at, leased_until, event_number FROM deliveries
    WHERE subscription_id = :sub AND state = 'pending' ORDER BY event_number LIMIT :scan
), lim AS (
    SELECT st.failures,
           CASE WHEN st.failures > 0 AND st.retry_at > :now THEN 0
                WHEN st.failures > 0 THEN 1
                ELSE :window END
           - (SELECT count(*) FROM owed WHERE leased_until >= :now) AS n
    FROM st
), pick AS (
    SELECT h.id FROM (SELECT DISTINCT ON (member_id) id, due_at, leased_until, event_number FROM owed
                      ORDER BY member_id, event_number) AS h
    WHERE h.due_at <= :now AND (h.leased_until IS NULL OR h.leased_until < :now)
    ORDER BY h.event_number
    LIMIT coalesce((SELECT greatest(0, least(n, :room)) FROM lim), 0)
)
UPDATE deliveries AS d
SET leased_until = CASE WHEN (SELECT failures FROM lim) > 0 THEN :until_probe ELSE :until END, lease_owner = :owner
FROM pick, notification_events AS ne
WHERE d.id = pick.id AND ne.event_id = d.event_id
  AND d.state = 'pending' AND (d.leased_until IS NULL OR d.leased_until < :now)
RETURNING d.id, d.event_number, d.attempts, d.created_at, (SELECT failures FROM lim) AS failures,
          ne.event_id, ne.topic, ne.member_id, ne.occurred_at, ne.recorded_at, ne.source_event_id, ne.focus_type,
          ne.focus_id, ne.audience, ne.facts, ne.hl7
""").columns(id=BigInteger(), event_number=BigInteger(), attempts=Integer(), created_at=UtcDateTime(),
             failures=Integer(), event_id=String(), topic=String(), member_id=String(), occurred_at=UtcDateTime(),
             recorded_at=UtcDateTime(), source_event_id=String(), focus_type=String(), focus_id=String(),
             audience=JSON(), facts=JSON(), hl7=Text())

RECORD_DELIVERIES = text("""
UPDATE deliveries AS d
SET state = r.state, attempts = d.attempts + 1, leased_until = NULL, lease_owner = NULL,
    delivered_at = r.delivered_at, due_at = r.due_at, last_status = r.status, last_error = r.error
FROM json_to_recordset(CAST(:rows AS json))
     AS r(id bigint, state varchar, delivered_at timestamptz, due_at timestamptz, status varchar, error varchar)
WHERE d.id = r.id AND d.lease_owner = :owner
""")

RECORD_ATTEMPTS = text("""
INSERT INTO attempts (subscription_id, delivery_id, event_id, kind, at, endpoint, status, ok, latency_ms, error,
                      dispatcher)
SELECT a.s, a.d, a.e, a.k, a.at, a.u, a.st, a.ok, a.ms, a.err, :owner
FROM json_to_recordset(CAST(:rows AS json)) AS a(s varchar, d bigint, e varchar, k varchar, at timestamptz,
                                                 u varchar, st varchar, ok boolean, ms float8, err varchar)
""")



def lease(conn: Connection, sub_id: str, *, now: datetime, owner: str, until: datetime, until_probe: datetime,
          window: int, room: int, scan: int) -> list[Any]:
    return conn.execute(LEASE, {"sub": sub_id, "now": now, "owner": owner, "until": until,
                                "until_probe": until_probe, "window": window, "room": room, "scan": scan}).all()


def _clip(value: str | None, n: int) -> str | None:
    return value[:n] if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def record_deliveries(conn: Connection, results: Sequence[AttemptResult], now: datetime, owner: str) -> None:
    conn.execute(RECORD_DELIVERIES, {"owner": owner, "rows": json_rows([
        {"id": r.delivery_id, "state": r.state, "delivered_at": _iso(r.started_at) if r.state == "delivered" else None,
         "due_at": _iso(r.due_at or now), "status": r.outcome.status[:32], "error": _clip(r.outcome.error, 1000)}
        for r in results])})


def record_attempts(conn: Connection, results: Sequence[AttemptResult], owner: str) -> None:
    conn.execute(RECORD_ATTEMPTS, {"owner": owner[:100], "rows": json_rows([
        {"s": r.subscription_id, "d": r.delivery_id, "e": str(r.event_id) if r.event_id else None, "k": r.kind,
         "at": _iso(r.started_at), "u": r.endpoint[:2000], "st": r.outcome.status[:32], "ok": r.outcome.ok,
         "ms": round(r.outcome.latency_s * 1000, 3), "err": _clip(r.outcome.error, 1000)}
        for r in results])})
