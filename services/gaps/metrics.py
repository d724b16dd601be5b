"""The gaps service's own Prometheus metrics (the shared consumer/producer ones are in
``shared.metrics``; the roster / claims load metrics are intake's, ``intake_*``). Labels are
bounded sets - event type, measure id - never a member or claim.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVALUATIONS = Counter("gaps_evaluations_total", "Member evaluations (all configured measures for one member)")
EVENTS_EMITTED = Counter(
    "gaps_events_emitted_total", "Gap status changes written to gaps.events", ["event_type", "measure"],
)
OPEN_GAPS = Gauge("gaps_open", "Open gaps in the current measurement period (refreshed from the database)",
                  ["measure"])


def count_emitted(events) -> None:
    for ev in events:
        EVENTS_EMITTED.labels(ev.event_type, ev.measure_id).inc()
