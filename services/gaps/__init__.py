"""Gaps service: rosters and claims in, quality measures evaluated, care gaps opened and closed.

``domain/`` holds the pure parts (measure engine, claim history with adjustments, status-change
detection, roster rules); ``ingest/`` the file parsers (X12 837, claims CSV, roster CSV);
``codes/`` the versioned code lists the measures use.
"""
