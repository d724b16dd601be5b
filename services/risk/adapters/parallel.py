"""A full re-score over several processes (``rescore --processes N``, the benchmark): the member
ids are split into contiguous ranges and each process scores its range with its own database
connection and producer. Each range is still one transaction per chunk, its tier changes
published before the chunk commits."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from ..app.full_rescore import RescoreStats, full_rescore, split_ids
from .repository import SqlRiskRepository
from .wiring import transactions


def _range(job: tuple) -> RescoreStats:
    make, after, until, chunk = job
    db, ctx, publish, close = make()
    try:
        return full_rescore(transactions(db), ctx, publish, chunk=chunk, after=after, until=until)
    finally:
        close()
        db.dispose()


def parallel_full_rescore(db, make: Callable[[], tuple], processes: int, *, chunk: int = 2000) -> RescoreStats:
    """``make()`` (picklable; runs in each process) returns (database, context, publish, close)."""
    started = time.perf_counter()
    with db.transaction() as session:
        repo = SqlRiskRepository(session)
        ids: list[str] = []
        while batch := repo.member_ids(ids[-1] if ids else None, 50_000):
            ids += batch
    ranges = split_ids(ids, processes)
    if len(ranges) == 1:
        stats = [_range((make, None, None, chunk))]
    else:
        with ProcessPoolExecutor(len(ranges), mp_context=get_context("spawn")) as pool:
            stats = list(pool.map(_range, [(make, a, u, chunk) for a, u in ranges]))
    return RescoreStats(sum(s.members for s in stats), sum(s.changes for s in stats), time.perf_counter() - started,
                        sum(s.cpu_seconds for s in stats))
