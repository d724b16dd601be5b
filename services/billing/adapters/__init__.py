"""Billing's adapters: SQLAlchemy tables, repositories and the unit of work with the ledger lock;
the database bootstrap; the wiring every process starts from."""
