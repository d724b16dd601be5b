"""The portal's use cases, over the repository and unit-of-work protocols of ``ports``.
No SQL, no Kafka, no HTTP here: the adapters and entry points supply those."""
