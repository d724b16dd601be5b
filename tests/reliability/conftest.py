"""Fixtures of the reliability suite: a private Kafka broker and a private three-node cluster that
may be killed (the shared broker other tests use is never touched) and fresh PostgreSQL databases,
one per service."""

from __future__ import annotations


import pytest

from tests.reliability.private_broker import PrivateBroker
from tests.reliability.private_cluster import PrivateCluster
from tests.support.infra import Databases, kafkactl


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
def private_cluster(tmp_path_factory):
    """Three KRaft nodes (broker + controller each) on ports of their own: ``ccp up --brokers 3``."""
    if not kafkactl().jars_present():
        kafkactl().resolve()
    cluster = PrivateCluster(tmp_path_factory.mktemp("kafka-cluster"), nodes=3)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def new_database(postgres_server_url):
    """A factory of fresh PostgreSQL databases, all dropped after the module."""
    databases = Databases(postgres_server_url, "rel_")
    yield databases.new
    databases.drop_all()
