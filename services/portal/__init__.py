"""The patient portal: members read their own care data and write to their care team.

A service of its own (``python -m services.portal worker | api | migrate``): its worker keeps a
projection of what a member may see from the platform's topics; its API serves the member's
pages, the sign-in (development codes, OpenID Connect in production) and a FHIR patient-access
read. Layout: ``domain/`` (pure), ``app/`` (use cases over repository protocols), ``adapters/``
(SQLAlchemy, Kafka, the OpenID Connect client), ``routes.py`` (topic, event type → use case),
``web/`` (pages, FHIR), thin entry points ``api.py``, ``worker.py``, ``cli.py``.
"""
