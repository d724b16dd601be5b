"""Module-scoped infrastructure for the API fuzzing: one topic namespace on the real broker and
one fresh PostgreSQL database per service, shared by all the cases of a module (the
per-test ``kafka_topics`` / ``pg_url`` fixtures would rebuild them for every operation)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.support.infra import Databases, new_topic_prefix


@pytest.fixture(scope="module")
def module_topics(kafka_bootstrap):
    """Like ``kafka_topics``, for a whole module."""
    from shared.kafka_admin import delete_topics, ensure_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics

    settings = CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=new_topic_prefix())
    created = ensure_topics(settings, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    yield settings
    delete_topics(settings, created.keys())


@pytest.fixture(scope="module")
def module_databases(postgres_server_url):
    """A factory of fresh PostgreSQL databases (like ``pg_url``), all dropped after the module."""
    databases = Databases(postgres_server_url)
    yield databases.new
    databases.drop_all()
