"""Admissions service: HL7 v2 ADT over MLLP in; hospitalist alerts, census, transitions of
care and readmissions out (see README.md in this folder, "Where things are").

- ``domain/``: pure logic (HL7 reader, validation, ACKs, ADT mapping, encounter rules);
- ``app/``: use cases over the ports of ``app/ports.py`` (the worker's batch and one handler per
  consumed event type, the API's reads, the alert fan-out): no SQL, no Kafka, no HTTP;
- ``adapters/``: tables, SQL repositories, unit of work, bootstrap, the gateway's write-behind
  stores, the tail of ``alerts.hospitalist``;
- ``mllp/``: the intake — MLLP framing, the asyncio listener, the gateway shared with HTTP ingest
  (no Kafka or database imports: its I/O is injected as callables);
- ``web/``: the JSON API, the HTTP ingest route, the hospitalist page;
- ``routes.py``: (topic, event type) → use case; entry points ``worker``, ``api``, ``listener``
  (the mllp process), ``ingest`` (the gateway on Kafka), ``cli`` + ``__main__``
  (``migrate | worker | api | mllp | feeds-report``), ``settings``, ``metrics``.
"""
