"""The dispatcher's pure decisions: what an attempt's outcome means for its delivery and its
subscription (``decide``), and which requests a lease round makes (``batches``).

- delivered on an acknowledgement;
- 410 Gone: the subscription goes to ``error`` at once, the delivery stays owed;
- otherwise another attempt after the subscription's backoff, or given up (dead-lettered, the
  subscription in ``error`` with the reason) when its policy says so.
"""

from __future__ import annotations

import random
from datetime import datetime

from ..domain import topics as t
from ..domain.retry import Outcome, next_probe
from .ports import AttemptResult, Leased


def decide(leased: Leased, outcome: Outcome, now: datetime, started_at: datetime,
           rng: random.Random | None = None) -> AttemptResult:
    sub = leased.subscription
    n = leased.notification
    base = dict(delivery_id=leased.delivery_id, subscription_id=sub.id, event_id=n.event_id, kind="event",
                endpoint=sub.endpoint, started_at=started_at, outcome=outcome)
    if outcome.ok:
        return AttemptResult(**base, state="delivered", failures=0)
    failures = leased.failures + 1
    attempts = leased.attempts + 1
    if outcome.gone:
        return AttemptResult(**base, state="pending", due_at=now, failures=failures,
                             subscription_error="the endpoint answered 410 Gone: fix or replace it, then reactivate")
    why = sub.retry.gives_up(attempts, leased.created_at, now)
    if why:
        reason = f"event {leased.event_number} ({n.topic}) {why}; last: {outcome.status} {outcome.error or ''}".strip()
        return AttemptResult(**base, state="dead", failures=failures, subscription_error=reason)
    return AttemptResult(**base, state="pending", due_at=next_probe(now, failures, sub.retry, outcome, rng),
                         failures=failures)


def batches(leased: list[Leased]) -> list[list[Leased]]:
    """The requests a lease round makes: one per delivery, except that a FHIR subscription with a
    max count above one gets its deliveries (each member's oldest: distinct members, in event
    order) in Bundles of up to max count events — the backlog form of the backport IG. One event
    is sent alone; a failing subscription is leased one delivery at a time (its probe)."""
    out: list[list[Leased]] = []
    open_: dict[str, list[Leased]] = {}
    for d in leased:
        sub = d.subscription
        if sub.channel != t.FHIR or sub.max_count <= 1:
            out.append([d])
            continue
        chunk = open_.get(sub.id)
        if chunk is None or len(chunk) >= sub.max_count:
            chunk = open_[sub.id] = []
            out.append(chunk)
        chunk.append(d)
    return out
