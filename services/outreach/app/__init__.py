"""Outreach's use cases, written against the repository / unit-of-work protocols of ``ports``:
no SQL, no Kafka, no HTTP.

- ``batch`` + ``handlers``: consumed events → tasks, one batch per unit of work (the routes
  table, ``routes.py``, maps each (topic, event type) to its handler);
- ``commands``: nurse and supervisor commands, one unit of work each;
- ``queries``: the reads of the API and the page (with their audit rows);
- ``maintenance``: the worker's daily jobs and the queue gauges.
"""
