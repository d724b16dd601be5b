"""Gaps service: roster snapshots and claims in, quality measures evaluated, care gaps opened
and closed.

``domain/`` holds the pure parts (measure engine, claim history with adjustments, status-change
detection); ``app/`` the use cases over ports (the worker's batch, the re-evaluation, the
maintenance tick, the API's reads); ``adapters/`` the SQL side; ``web/`` the HTTP routes;
``routes.py`` what the worker consumes; ``codes/`` the versioned code lists the measures use.
Roster and claims files are loaded by the intake service, which produces the ``members.roster``
and ``claims.events`` this service consumes.
"""
