"""Loads: files and API payloads → events on Kafka, with a report (one code path for the CLI
and the API).

- ``load_claims(ctx, path, fmt, validate=, force=, ...)`` → ``LoadReport`` (837P/837I, CSV, JSON)
- ``load_roster(ctx, path_or_items, full=, effective=, ...)`` → ``LoadReport``
- ``LoadContext(settings, db, producer)``; ``LoadJobs`` runs loads in the background for the API.
"""

from .claims import claim_event_id, load_claims
from .common import LoadContext, LoadReport, detect_format, file_sha256, new_load_id
from .roster import iter_roster_items, load_roster, roster_event_id

__all__ = [
    "LoadContext", "LoadReport", "claim_event_id", "detect_format", "file_sha256", "iter_roster_items",
    "load_claims", "load_roster", "new_load_id", "roster_event_id",
]
