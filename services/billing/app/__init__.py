"""Billing's use cases over the repository / unit-of-work protocols of ``ports.py``: no SQL, no
Kafka, no HTTP (``.importlinter``). Consumed events → ledger entries (``batch.py``,
``handlers.py``, ``member_work.py``), postings and estimates (``ledger.py``), the worker's timer
(``maintenance.py``), commands, queries and explanations for the API and the CLI."""
