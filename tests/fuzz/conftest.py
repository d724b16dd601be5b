"""Module-scoped infrastructure for the API fuzzing: one topic namespace on the real broker and
one fresh PostgreSQL database per service, shared by all the cases of a module (the
per-test ``kafka_topics`` / ``pg_url`` fixtures would rebuild them for every operation)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.support.infra import new_topic_prefix


@pytest.fixture(scope="module")
def module_topics(kafka_bootstrap):
    """Like ``kafka_topics``, for a whole module."""
    from shared.kafka import delete_topics, ensure_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics

    settings = CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=new_topic_prefix())
    created = ensure_topics(settings, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    yield settings
    delete_topics(settings, created.keys())


@pytest.fixture(scope="module")
def module_databases(postgres_server_url):
    """A factory of fresh PostgreSQL databases (like ``pg_url``), all dropped after the module."""
    admin = create_engine(make_url(postgres_server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def new() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)

    yield new
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
