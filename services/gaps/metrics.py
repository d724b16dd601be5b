"""The gaps service's own Prometheus metrics (the shared consumer/producer ones are in
``shared.metrics``). Labels are bounded sets - format, outcome, event type, measure id -
never a member, claim or file name.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CLAIMS_INGESTED = Counter(
    "gaps_claims_ingested_total", "Claims read from files and the API, by outcome",
    ["format", "outcome"],  # format: x12 | csv | json; outcome: accepted | rejected | duplicate_file
)
CLAIM_LINES = Counter("gaps_claim_lines_total", "Claim service lines accepted by ingest", ["format"])
ROSTER_ROWS = Counter(
    "gaps_roster_rows_total", "Roster rows read, by outcome",
    ["outcome"],  # accepted (changed, produced) | unchanged | rejected | termed
)
EVALUATIONS = Counter("gaps_evaluations_total", "Member evaluations (all configured measures for one member)")
EVENTS_EMITTED = Counter(
    "gaps_events_emitted_total", "Gap status changes written to gaps.events", ["event_type", "measure"],
)
OPEN_GAPS = Gauge("gaps_open", "Open gaps in the current measurement period (refreshed from the database)",
                  ["measure"])
LOADS_FINISHED = Counter(
    "gaps_loads_finished_total", "Loads that reached a terminal state (failed includes loads whose process died)",
    ["kind", "format", "status"],  # roster | claims; x12 | csv | json; done | rejected | failed | duplicate
)
INGEST_PROGRESS = Gauge("gaps_ingest_progress_ratio",
                        "Share of the file being loaded that has been read (0..1; 1 when idle after a load)")


def count_emitted(events) -> None:
    for ev in events:
        EVENTS_EMITTED.labels(ev.event_type, ev.measure_id).inc()
