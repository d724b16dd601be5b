"""Kafka topic administration on confluent-kafka: is a broker there, create the registry's topics
(with the replication a cluster of that size gets), delete topics (tests, benchmarks, resets)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from .settings import CommonSettings
from .topics import TopicSpec

log = logging.getLogger(__name__)

def admin_client(settings: CommonSettings) -> AdminClient:
    return AdminClient(settings.kafka_client_config())


def broker_reachable(settings: CommonSettings, timeout: float = 3.0) -> bool:
    try:
        md = admin_client(settings).list_topics(timeout=timeout)
        return bool(md.brokers)
    except KafkaException:
        return False


def ensure_topics(settings: CommonSettings, specs: Iterable[TopicSpec], timeout: float = 30.0) -> dict[str, str]:
    """Create the topics that do not exist (partitions, cleanup, retention). Idempotent.

    Returns {topic: "created" | "exists"}. Existing topics are left as they are (a partition
    count cannot shrink; change retention with the broker's tools). Replication follows the
    registry's production values on a cluster (``shared.topics.Replication.for_brokers``): RF 3
    and min.insync.replicas 2 from three brokers up, RF 1 on a single broker."""
    from .topics import replication

    admin = admin_client(settings)
    metadata = admin.list_topics(timeout=timeout)
    existing = set(metadata.topics)
    repl = replication().for_brokers(len(metadata.brokers))
    result: dict[str, str] = {}
    new = []
    for spec in specs:
        name = settings.topic(spec.name)
        if name in existing:
            result[name] = "exists"
        else:
            new.append(NewTopic(name, num_partitions=spec.partitions, replication_factor=repl.factor,
                                config=spec.config(repl.min_insync_replicas if repl.factor > 1 else None)))
    if new:
        for name, fut in admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout).items():
            try:
                fut.result()
                result[name] = "created"
            except KafkaException as exc:
                if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    result[name] = "exists"
                else:
                    raise
    return result


def delete_topics(settings: CommonSettings, names: Iterable[str], timeout: float = 30.0) -> None:
    names = list(names)
    if not names:
        return
    # Keep the client referenced until every future resolved: a temporary AdminClient can be
    # destroyed before its request is sent, and the futures then resolve without deleting anything.
    admin = admin_client(settings)
    for fut in admin.delete_topics(names, operation_timeout=timeout).values():
        try:
            fut.result()
        except KafkaException as exc:  # already gone: deleting is best-effort cleanup
            log.debug("topic not deleted: %s", exc)
