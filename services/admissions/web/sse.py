"""The Server-Sent Events stream of new alerts, shared by the JSON API (``/alerts/stream``) and
the hospitalist page (``/hospitalist/stream``)::

    retry: 3000
    : connected

    id: <alert id>
    event: alert.raised
    data: <the AlertRaisedV1 JSON>

    : keepalive

A comment line every ``keepalive_s`` on an idle stream; ``event: overflow`` and the end of the
stream when the client fell too far behind (reconnect and read the inbox). Each alert sent is
an audited read (``on_sent(member_id)``, run off the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from fastapi.responses import StreamingResponse

from ..app.alert_feed import OVERFLOW, AlertFeed, Subscriber


def alert_stream(feed: AlertFeed, sub: Subscriber, keepalive_s: float,
                 on_sent: Callable[[str], None]) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), keepalive_s)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if item is OVERFLOW:
                    yield "event: overflow\ndata: {}\n\n"
                    return
                await asyncio.to_thread(on_sent, item.member_id)
                yield f"id: {item.alert_id}\nevent: alert.raised\ndata: {item.model_dump_json()}\n\n"
        finally:
            feed.unsubscribe(sub)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
