"""Re-score every member (a new day moved the windows, a contract's policy changed), in chunks:
each chunk is one transaction whose tier changes are published before it commits."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from shared.events import Event

from .context import RiskContext
from .ports import RiskRepository
from .rescore import rescore


@dataclass(frozen=True)
class RescoreStats:
    members: int
    changes: int
    seconds: float


def full_rescore(transaction: Callable[[], AbstractContextManager[RiskRepository]], ctx: RiskContext,
                 publish: Callable[[list[Event]], None], *, chunk: int = 2000,
                 guard: Callable[[], AbstractContextManager] | None = None) -> RescoreStats:
    started = time.perf_counter()
    after, members, changes = None, 0, 0
    while True:
        with (guard() if guard else _null()), transaction() as repo:
            ids = repo.member_ids(after, chunk)
            if not ids:
                break
            events = rescore(repo, ids, ctx)
            if events:
                publish(list(events))
        members += len(ids)
        changes += len(events)
        after = ids[-1]
        if len(ids) < chunk:
            break
    return RescoreStats(members, changes, time.perf_counter() - started)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
