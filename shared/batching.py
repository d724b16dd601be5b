"""Cutting a consumer's stream into batches: full, or once the first event has waited the window.

``batches`` is what ``shared.faust_app.consume`` hands each worker's transaction; it knows
nothing of faust (any async iterator will do), so its rule is tested on a plain asyncio source
(``tests/unit/shared/test_batches.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def batches(source: AsyncIterator[T], max_size: int, within: float) -> AsyncIterator[list[T]]:
    """Group ``source``'s items into lists of at most ``max_size``: a list is handed over when it
    is full, or once its first item has waited ``within`` seconds since it was read.

    The wait is counted from the first item's arrival, not from the end of the previous batch
    (faust's ``take_events`` waits ``within`` again after every batch, even with events already
    waiting, so at low rates each batch cost its processing time plus ``within``): items read
    while a batch was being processed are handed over as soon as it is done, and batches grow by
    themselves when processing is slower than arrivals. At most ``max_size`` items wait in the
    queue; the source (faust's stream and its flow control) holds the rest.

    The reader runs in its own task. The end of the source ends the batches once everything it
    gave was handed over; an error it raised is raised then."""
    if max_size < 1 or within < 0:
        raise ValueError("batches: max_size >= 1 and within >= 0")
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=max_size)
    end = object()

    async def read() -> None:
        async for item in source:
            await queue.put((loop.time(), item))

    reader = asyncio.ensure_future(read())

    async def get(timeout: float | None):
        """(arrival time, item); ``end`` once the source ended and everything it gave was taken;
        None when ``timeout`` passed first."""
        while True:
            if not queue.empty():
                return queue.get_nowait()
            if reader.done():
                return end
            if timeout is not None and timeout <= 0:
                return None
            getter = asyncio.ensure_future(queue.get())
            try:
                finished, _ = await asyncio.wait({getter, reader}, timeout=timeout,
                                                 return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    # Queue.get takes its item only when it runs again: a cancelled getter leaves it queued.
                    getter.cancel()
            if getter in finished:
                return getter.result()
            if not finished:
                return None
            # the reader ended: take what it queued before that (loop), then report the end

    try:
        while (first := await get(None)) is not end:
            batch = [first[1]]
            deadline = first[0] + within
            while len(batch) < max_size:
                got = await get(deadline - loop.time())
                if got is None or got is end:  # the end: this batch now, the reader's error after it
                    break
                batch.append(got[1])
            yield batch
        if not reader.cancelled() and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
