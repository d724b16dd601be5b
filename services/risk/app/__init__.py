"""Use cases of the risk service, over the repository protocol of ``ports``: no SQL, Kafka or HTTP."""
