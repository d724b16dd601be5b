"""The worker's one use case per batch: record every event through its route, re-score the
members the batch touched, return the tier changes to publish (in the batch's transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.events import Event, RiskTierChangedV1

from .context import RiskContext
from .intake import Batch
from .ports import RiskRepository
from .rescore import rescore


def apply_batch(repo: RiskRepository, events: Sequence[Event], ctx: RiskContext,
                route: Callable[[Event], Callable[[Batch, Event], None]]) -> list[RiskTierChangedV1]:
    batch = Batch()
    for e in events:
        route(e)(batch, e)
    batch.store(repo)
    cause = str(events[-1].event_id) if len(events) == 1 else None
    return rescore(repo, batch.touched, ctx, cause=cause)
