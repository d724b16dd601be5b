"""MLLP transport for the admissions gateway: framing, the asyncio listener, the intake
pipeline shared with HTTP ingest, TLS contexts. No Kafka imports: the producer is injected."""
