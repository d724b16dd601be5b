"""Intake: roster and claims file loads (CSV, JSON, X12 837P/837I with pyx12 validation and 999
acknowledgments) → ``members.roster`` and ``claims.events`` (and their ``.dlq``), with a report
per load. See README.md."""
