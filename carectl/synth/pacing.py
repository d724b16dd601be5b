"""Pacing a timeline in wall-clock time: replay simulated time faster (``speedup``), or send
at a fixed rate (items per second).

The clocks are pure (they say *when*, in seconds after the start, an item is due); the
``Pacer`` sleeps on them with an injectable clock and sleep, so it is testable without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")


def speedup_for(simulated: timedelta, wall_seconds: float) -> float:
    """The speed-up that plays ``simulated`` time in ``wall_seconds`` (a month in 5 min ≈ 8,928)."""
    if wall_seconds <= 0:
        raise ValueError("wall_seconds must be > 0")
    return simulated.total_seconds() / wall_seconds


class ReplayClock:
    """Due offset of an item = simulated time since the first item / ``speedup``.

    ``max_gap`` (wall seconds) caps any quiet stretch between consecutive items (nights, empty
    weekends) so a replay does not idle; with it the clock is stateful and must see items in order.
    """

    def __init__(self, speedup: float, max_gap: float | None = None) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be > 0")
        self.speedup = speedup
        self.max_gap = max_gap
        self._first: datetime | None = None
        self._prev_sim: datetime | None = None
        self._prev_due = 0.0

    def due(self, sim: datetime) -> float:
        if self._first is None:
            self._first = self._prev_sim = sim
            return 0.0
        assert self._prev_sim is not None
        if self.max_gap is None:
            d = max(self._prev_due, (sim - self._first).total_seconds() / self.speedup)
        else:
            step = max(0.0, (sim - self._prev_sim).total_seconds() / self.speedup)
            d = self._prev_due + min(step, self.max_gap)
        self._prev_sim = max(sim, self._prev_sim)
        self._prev_due = d
        return d


class RateClock:
    """Item ``n`` (0-based) is due at ``n / rate`` seconds."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self._n = 0

    def due(self, _sim: Any = None) -> float:
        d = self._n / self.rate
        self._n += 1
        return d


class Pacer:
    """Waits until each item is due. ``behind`` is how late the last item went out (seconds)."""

    def __init__(self, clock: ReplayClock | RateClock, *, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.clock = clock
        self.now = now
        self.sleep = sleep
        self._start: float | None = None
        self.behind = 0.0
        self.max_behind = 0.0
        self.count = 0

    async def wait(self, sim: datetime | None = None) -> float:
        """Sleep until the item with simulated time ``sim`` is due; returns its due offset."""
        if self._start is None:
            self._start = self.now()
        due = self.clock.due(sim)
        delay = self._start + due - self.now()
        if delay > 0:
            await self.sleep(delay)
            self.behind = 0.0
        else:
            self.behind = -delay
            self.max_behind = max(self.max_behind, self.behind)
        self.count += 1
        return due


async def paced(items: Iterable[T] | AsyncIterable[T], *, speedup: float | None = None, rate: float | None = None,
                max_gap: float | None = None, at: Callable[[T], datetime] = lambda it: it.at,  # type: ignore[attr-defined]
                now: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> AsyncIterator[T]:
    """Yield ``items`` as they fall due: by simulated time compressed ``speedup`` times, or at ``rate``/s.

    With neither, items pass through unpaced (as fast as the consumer takes them).
    """
    if speedup is not None and rate is not None:
        raise ValueError("give speedup or rate, not both")
    pacer: Pacer | None = None
    if speedup is not None:
        pacer = Pacer(ReplayClock(speedup, max_gap), now=now, sleep=sleep)
    elif rate is not None:
        pacer = Pacer(RateClock(rate), now=now, sleep=sleep)
    if isinstance(items, AsyncIterable):
        async for it in items:
            if pacer is not None:
                await pacer.wait(at(it) if speedup is not None else None)
            yield it
    else:
        for it in items:
            if pacer is not None:
                await pacer.wait(at(it) if speedup is not None else None)
            yield it
