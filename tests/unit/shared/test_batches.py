"""shared.batching.batches: how a worker groups consumed events into transactions.

What a user sees: an event that arrives while the worker is busy waits only for that batch to
end (not for that batch plus the batching window), a quiet feed is handed over after at most the
window, a burst becomes full batches, and nothing is lost, duplicated or reordered at the end of
the stream or when the worker stops."""

from __future__ import annotations

import asyncio

import pytest

from shared.batching import batches


class Feed:
    """An async source fed by the test: ``put`` an item, ``close`` ends it, ``fail`` raises."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()
        self.read = 0

    def put(self, *items) -> None:
        for item in items:
            self.queue.put_nowait(("item", item))

    def close(self) -> None:
        self.queue.put_nowait(("end", None))

    def fail(self, exc: BaseException) -> None:
        self.queue.put_nowait(("error", exc))

    def __aiter__(self):
        return self

    async def __anext__(self):
        kind, value = await self.queue.get()
        if kind == "end":
            raise StopAsyncIteration
        if kind == "error":
            raise value
        self.read += 1
        return value


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_a_burst_is_cut_into_full_batches_in_order():
    async def go():
        feed = Feed()
        feed.put(*range(25))
        feed.close()
        return [b async for b in batches(feed, 10, 5.0)]

    got = run(go())
    assert got == [list(range(10)), list(range(10, 20)), list(range(20, 25))]


def test_a_lone_event_waits_at_most_the_window():
    async def go():
        loop = asyncio.get_running_loop()
        feed = Feed()
        gen = batches(feed, 100, 0.5)
        feed.put("admit")
        t0 = loop.time()
        first = await gen.__anext__()
        waited = loop.time() - t0
        await gen.aclose()
        return first, waited

    first, waited = run(go())
    assert first == ["admit"]
    assert 0.45 <= waited < 5.0  # handed over after the window, not held for a full batch


def test_events_that_arrived_during_a_slow_batch_are_handed_over_at_once():
    """The window counts from the first waiting event's arrival: when the previous batch took
    longer than the window, the next one is handed over as soon as the worker asks."""
    async def go():
        loop = asyncio.get_running_loop()
        feed = Feed()
        gen = batches(feed, 100, 1.0)
        feed.put(1)
        first = await gen.__anext__()
        feed.put(2, 3)            # arrive while batch 1 is processed ...
        await asyncio.sleep(1.2)  # ... which takes longer than the window
        t0 = loop.time()
        second = await gen.__anext__()
        waited = loop.time() - t0
        await gen.aclose()
        return first, second, waited

    first, second, waited = run(go())
    assert (first, second) == ([1], [2, 3])
    assert waited < 0.5  # faust's take_events would have waited the whole window (1 s) again


def test_a_partly_used_window_is_not_restarted():
    async def go():
        loop = asyncio.get_running_loop()
        feed = Feed()
        gen = batches(feed, 100, 1.5)
        feed.put("warm-up")
        assert await gen.__anext__() == ["warm-up"]  # the reader runs from the first request on
        feed.put("a")
        await asyncio.sleep(1.0)  # "a" has already waited two thirds of its window
        t0 = loop.time()
        got = await gen.__anext__()
        waited = loop.time() - t0
        await gen.aclose()
        return got, waited

    got, waited = run(go())
    assert got == ["a"]
    assert waited < 1.0  # the rest of its window (0.5 s), not a new one (1.5 s)


def test_at_most_one_batch_is_read_ahead():
    """Back-pressure: while the worker holds a batch, the reader takes at most one more batch
    from the source; the rest stays with the source (faust's stream and its flow control)."""
    async def go():
        feed = Feed()
        feed.put(*range(50))
        gen = batches(feed, 5, 0.01)
        first = await gen.__anext__()
        await asyncio.sleep(0.1)
        read_ahead = feed.read - len(first)
        await gen.aclose()
        return first, read_ahead

    first, read_ahead = run(go())
    assert first == [0, 1, 2, 3, 4]
    assert 1 <= read_ahead <= 6  # a full queue of 5, plus the one the reader holds while waiting for room


def test_the_end_of_the_source_hands_over_what_was_read_then_stops():
    async def go():
        feed = Feed()
        gen = batches(feed, 100, 30.0)
        feed.put("x", "y")
        feed.close()
        return [b async for b in gen]

    assert run(go()) == [["x", "y"]]  # not held for the 30 s window


def test_an_error_of_the_source_is_raised_after_what_it_gave():
    async def go():
        feed = Feed()
        feed.put(1, 2)
        feed.fail(RuntimeError("fetcher died"))
        got = []
        with pytest.raises(RuntimeError, match="fetcher died"):
            async for b in batches(feed, 100, 0.05):
                got.append(b)
        return got

    assert run(go()) == [[1, 2]]


def test_closing_the_batches_stops_the_reader():
    async def go():
        baseline = len(asyncio.all_tasks())
        feed = Feed()
        gen = batches(feed, 10, 0.01)
        feed.put(1)
        assert await gen.__anext__() == [1]
        await gen.aclose()
        left = len(asyncio.all_tasks()) - baseline
        feed.put(2, 3)
        await asyncio.sleep(0.05)
        return left, feed.read

    left, read = run(go())
    assert read == 1  # nothing read after the close: a stopping worker takes no more events
    assert left == 0  # the reader task is gone


@pytest.mark.parametrize("size, within", [(0, 0.1), (5, -1)])
def test_nonsense_sizes_are_refused(size, within):
    async def go():
        async for _ in batches(Feed(), size, within):
            pass

    with pytest.raises(ValueError):
        run(go())
