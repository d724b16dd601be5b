"""Metrics every process shares (consumer, producer, dead letters, lag), and the exposition.

Service-specific metrics live in ``services/<name>/metrics.py``. Labels are bounded sets
(consumer name, topic, outcome, partition); never a member, MRN or name.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

CONSUMER_EVENTS = Counter(
    "ccp_consumer_events_total", "Events seen by a consumer, by outcome",
    ["consumer", "outcome"],  # outcome: processed | duplicate | invalid
)
CONSUMER_BATCH_SECONDS = Histogram(
    "ccp_consumer_batch_seconds", "Time to apply one batch (decode, transaction, emit)", ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_BATCH_SIZE = Histogram(
    "ccp_consumer_batch_size", "Events per batch", ["consumer"], buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000),
)
CONSUMER_RETRIES = Counter("ccp_consumer_retries_total", "Transient failures retried", ["consumer"])
CONSUMER_LAG = Gauge("ccp_consumer_lag", "Messages not yet consumed (high watermark - position)",
                     ["group", "topic", "partition"])
CONSUMER_LAST_BATCH = Gauge("ccp_consumer_last_batch_timestamp_seconds", "When the consumer last applied a batch",
                            ["consumer"])
OFFSET_COMMITS = Counter(
    "ccp_consumer_offset_commits_total", "Offset commits made by a consumer after its batch was applied, by outcome",
    ["consumer", "outcome"],  # committed | not_owned (a rebalance moved the partitions: redelivered, deduplicated)
)
DEAD_LETTERS = Counter("ccp_dead_letters_total", "Messages sent to a dead-letter topic", ["consumer", "topic"])
PRODUCED = Counter("ccp_produced_total", "Messages confirmed written to Kafka", ["topic"])
PRODUCE_FAILURES = Counter("ccp_produce_failures_total", "Writes Kafka did not confirm", ["topic"])
PRODUCE_SECONDS = Histogram(
    "ccp_produce_latency_seconds", "Produce call to delivery confirmation",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
PRODUCER_CALLBACK_ERRORS = Counter(
    "ccp_producer_callback_errors_total",
    "Exceptions raised by a callback while the producer served Kafka's events (a delivery report or a "
    "log line whose handler failed); the producer keeps serving the rest",
)
PRODUCER_QUEUE = Gauge("ccp_producer_queue_messages", "Messages waiting in the producer's bounded queue")


def exposition() -> tuple[bytes, str]:
    """(body, content type) of the Prometheus text format for the default registry."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
