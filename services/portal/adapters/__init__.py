"""The portal's edge: SQLAlchemy tables and repositories, Kafka publishing, the directory of
names, the OpenID Connect client."""
