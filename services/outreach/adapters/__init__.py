"""Outreach's adapters: the SQLAlchemy tables and their row mapping (``tables``), the
repositories (``repository``, ``reads``), the unit of work that also writes lifecycle events to
Kafka before it commits (``unit_of_work``), and the database bootstrap (``database``)."""
