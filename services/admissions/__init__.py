"""Admissions service: HL7 v2 ADT over MLLP in; hospitalist alerts, census, transitions of
care and readmissions out.

- ``domain/``: pure logic (HL7 reader, validation, ACKs, ADT mapping, encounter rules).
- ``mllp/``: MLLP framing and the asyncio listener (transport; no Kafka imports — the
  producer is injected as an async ``publish`` callable).
"""
