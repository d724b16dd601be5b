"""Intake's Prometheus metrics (the shared producer ones, ``ccp_produced_total`` and
``ccp_dead_letters_total``, are in ``shared.metrics``). Labels are bounded sets - format,
outcome, kind, status - never a member, claim or file name. Counted by the process running the
load (the API or a CLI load), after the broker confirmed what they count.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CLAIMS_INGESTED = Counter(
    "intake_claims_ingested_total", "Claims read from files and the API, by outcome",
    ["format", "outcome"],  # format: x12 | csv | json; outcome: accepted | rejected | duplicate_file
)
CLAIM_LINES = Counter("intake_claim_lines_total", "Claim service lines produced by loads", ["format"])
ROSTER_ROWS = Counter(
    "intake_roster_rows_total", "Roster rows read, by outcome",
    ["outcome"],  # accepted (changed, produced) | unchanged | rejected | termed
)
LOADS_FINISHED = Counter(
    "intake_loads_finished_total", "Loads that reached a terminal state (failed includes loads whose process died)",
    ["kind", "format", "status"],  # roster | claims; x12 | csv | json; done | rejected | failed | duplicate
)
LOAD_PROGRESS = Gauge("intake_load_progress_ratio",
                      "Share of the file being loaded that has been read (0..1; 1 when idle after a load)")
