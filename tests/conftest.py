"""Fixtures: a real Kafka broker and a real PostgreSQL, fresh topics and a fresh database per test."""

from __future__ import annotations

import os

import pytest

from tests.support import infra


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = infra.kafka_bootstrap()
    yield bootstrap
    try:
        infra.delete_own_topics(bootstrap)
    finally:
        infra.stop_containers()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    return infra.postgres_url()


@pytest.fixture
def pg_url(postgres_server_url) -> str:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    databases = infra.Databases(postgres_server_url)
    yield databases.new()
    databases.drop_all()


@pytest.fixture
def topic_prefix() -> str:
    """A fresh topic namespace for one test: every registry topic gets this prefix."""
    return infra.new_topic_prefix()


@pytest.fixture
def kafka_topics(kafka_bootstrap, topic_prefix):
    """Create every registry topic (and DLQ twins) under the test's prefix; delete afterwards."""
    from shared.kafka_admin import delete_topics, ensure_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics

    settings = CommonSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)
    specs = all_topics()
    # Tests do not need 6 partitions per topic; 2 keeps rebalance paths honest and the broker light.
    from dataclasses import replace

    specs = [replace(s, partitions=min(s.partitions, 2)) for s in specs]
    created = ensure_topics(settings, specs)
    yield settings
    delete_topics(settings, created.keys())


def pytest_collection_modifyitems(config, items):
    # Integration/e2e tests live in their folders; mark them so `-m "not integration"` is fast.
    for item in items:
        path = str(item.fspath)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)
        if f"{os.sep}e2e{os.sep}" in path:
            item.add_marker(pytest.mark.e2e)
