"""Admissions service: HL7 v2 ADT over MLLP in; hospitalist alerts, census, transitions of
care and readmissions out (see README.md in this folder).

- ``domain/``: pure logic (HL7 reader, validation, ACKs, ADT mapping, encounter rules).
- ``mllp/``: MLLP framing, the asyncio listener, the gateway shared with HTTP ingest (no Kafka
  imports — the producer is injected as an async ``publish`` callable).
- wiring: ``settings``, ``store`` (tables), ``handlers`` + ``projections`` (worker batch),
  ``agents`` (faust), ``ingest`` (gateway on Kafka), ``dedupe`` (duplicate ACK store),
  ``listener`` (mllp process), ``api`` + ``queries`` + ``schemas`` + ``alert_stream`` (API, SSE),
  ``metrics``, ``__main__`` (``migrate | worker | api | mllp``).
"""
