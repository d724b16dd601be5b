"""Admissions' use cases, written against the repository / unit-of-work protocols of ``ports``:
no SQL, no Kafka, no HTTP.

- ``batch`` + ``handlers``: consumed ADT events and roster snapshots → patient records, the read
  model (``projections``) and the derived alerts, transitions and readmissions, one batch per unit
  of work (the routes table, ``routes.py``, maps each (topic, event type) to its handler);
  ``full_parse``: the optional python-hl7 cross-check;
- ``queries``: the reads of the API and the hospitalist page (with their audit rows), ``scope``:
  whose members a user may see;
- ``alert_feed``: the fan-out of new alerts to the open Server-Sent Events streams;
- ``gauges``: the worker's census and unmatched gauges.

The intake (HL7 in, ACK out) is ``mllp/gateway.py``: its I/O (the Kafka write, the dead letter,
the duplicate store) is handed to it as callables.
"""
