"""Use cases over repository / unit-of-work protocols (``ports.py``): no SQL, Kafka or HTTP."""
