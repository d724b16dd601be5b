"""Gaps service: rosters and claims in, quality measures evaluated, care gaps opened and closed.

``domain/`` holds the pure parts (measure engine, claim history with adjustments, status-change
detection, roster rules); ``app/`` the use cases over ports (the worker's batch, the
re-evaluation, the maintenance tick, the API's reads); ``adapters/`` the SQL side; ``web/`` the
HTTP routes; ``routes.py`` what the worker consumes; ``codes/`` the versioned code lists the
measures use. ``ingest/`` (the file parsers: X12 837, claims CSV, roster CSV) and ``loads/`` are
the roster / claims intake, here until it moves to its own service.
"""
