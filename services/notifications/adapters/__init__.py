"""SQLAlchemy tables, repositories and the unit of work; outbound clients (HTTP, MLLP)."""
