"""Fixtures of the reliability suite: a private Kafka broker that may be killed (the shared one
other tests use is never touched) and fresh PostgreSQL databases, one per service."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.reliability.private_broker import PrivateBroker
from tests.support.infra import kafkactl


@pytest.fixture(scope="module")
def private_broker(tmp_path_factory):
    if not kafkactl().jars_present():
        kafkactl().resolve()
    broker = PrivateBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()
    if broker.alive():
        broker.kill()


@pytest.fixture(scope="module")
def new_database(postgres_server_url):
    """A factory of fresh PostgreSQL databases, all dropped after the module."""
    admin = create_engine(make_url(postgres_server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def new() -> str:
        name = f"rel_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)

    yield new
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
