"""The risk service's edges: SQLAlchemy storage, reference data files, Kafka publishing."""
