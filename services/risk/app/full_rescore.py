"""Re-score every member (a new day moved the windows, a contract's policy changed), in chunks:
each chunk is one transaction whose tier changes are published before it commits."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
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
    cpu_seconds: float = 0.0   # of the scoring process(es), not the database's


def full_rescore(transaction: Callable[[], AbstractContextManager[RiskRepository]], ctx: RiskContext,
                 publish: Callable[[list[Event]], None], *, chunk: int = 2000,
                 guard: Callable[[], AbstractContextManager] | None = None,
                 after: str | None = None, until: str | None = None) -> RescoreStats:
    """Every member with an id in (``after``, ``until``] (all by default), ``chunk`` per transaction."""
    started, cpu = time.perf_counter(), time.process_time()
    members, changes = 0, 0
    with _fewer_collections():
        while True:
            with (guard() if guard else _null()), transaction() as repo:
                ids = repo.member_ids(after, chunk, until)
                done = len(ids) < chunk
                if not ids:
                    break
                events = rescore(repo, ids, ctx, span=(ids[0], ids[-1]))
                if events:
                    publish(list(events))
            members += len(ids)
            changes += len(events)
            after = ids[-1]
            if done:
                break
    return RescoreStats(members, changes, time.perf_counter() - started, time.process_time() - cpu)


def split_ids(ids: list[str], parts: int) -> list[tuple[str | None, str | None]]:
    """``parts`` contiguous (after, until] ranges of ``ids`` of about equal size. ``ids`` are in the
    store's order (``member_ids``): not re-sorted here, a database collation may order them
    differently from Python, and the ranges are applied by the database."""
    if parts <= 1 or len(ids) < parts:
        return [(None, None)]
    size = -(-len(ids) // parts)
    bounds = [ids[min(len(ids), k * size) - 1] for k in range(1, parts)]
    return list(zip([None, *bounds], [*bounds, None]))


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector's thresholds raised for the bulk job, restored after it.

    A chunk keeps ~2,000 members' facts alive while it is scored, so with the default thresholds
    (a young collection every 700 allocations) they are scanned again and again and promoted until
    full collections scan the whole heap: measured ~20% of the re-score's CPU. The job makes few
    reference cycles; young collections still run, every 100,000 allocations."""
    old = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
