"""``EventProducer.send_one`` on the real broker: the ACK path's write. Many concurrent writes
are each confirmed with their own offset (deliveries served together settle together, on the
right futures); a write whose waiter gave up is not lost and does not break the next ones; and
a broker that cannot confirm gives a ``DeliveryError``, never a success."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.errors import DeliveryError
from shared.kafka import EventProducer, OutMessage
from shared.settings import CommonSettings
from tests.support.procs import free_port, read_topic


def test_concurrent_writes_each_get_their_own_confirmed_offset(kafka_topics):
    topic = kafka_topics.topic("adt.events.dlq")
    producer = EventProducer(kafka_topics, "test-send-one", **{"linger.ms": 0})

    async def run():
        writes = [producer.send_one(OutMessage(topic, f"m{i}".encode(), b"same-key")) for i in range(300)]
        return await asyncio.gather(*writes)

    try:
        deliveries = asyncio.run(run())
    finally:
        producer.close()
    # one key, one partition: 300 distinct offsets, in the order the writes were made
    assert len({d.partition for d in deliveries}) == 1
    offsets = [d.offset for d in deliveries]
    assert offsets == sorted(offsets) and len(set(offsets)) == 300
    values = [m.value() for m in read_topic(kafka_topics, topic, expect=300, settle=0.5)]
    assert sorted(values) == sorted(f"m{i}".encode() for i in range(300))


def test_a_waiter_that_gave_up_leaves_the_producer_working(kafka_topics):
    topic = kafka_topics.topic("adt.events.dlq")
    producer = EventProducer(kafka_topics, "test-send-one-cancel")

    async def run():
        abandoned = asyncio.create_task(producer.send_one(OutMessage(topic, b"abandoned")))
        await asyncio.sleep(0)
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        return await asyncio.wait_for(producer.send_one(OutMessage(topic, b"after")), 10)

    try:
        delivery = asyncio.run(run())
    finally:
        producer.close()
    assert delivery.offset >= 0
    values = {m.value() for m in read_topic(kafka_topics, topic, expect=2, settle=0.5)}
    assert values == {b"abandoned", b"after"}  # the abandoned write was handed over: it is still written


def test_no_broker_is_a_delivery_error_not_a_success():
    settings = CommonSettings(kafka_bootstrap=f"127.0.0.1:{free_port()}", topic_prefix="nobroker.",
                              producer_timeout_s=1.0)
    producer = EventProducer(settings, "test-send-one-down")

    async def run():
        return await asyncio.wait_for(producer.send_one(OutMessage("nobroker.adt.events", b"x")), 15)

    try:
        with pytest.raises(DeliveryError):
            asyncio.run(run())
    finally:
        producer.close(timeout=1)


class _FailingHandler(logging.Handler):
    """A log handler that fails the way one writing to a closed stream does (its error report
    fails too, so the exception leaves the logging call)."""

    def emit(self, record: logging.LogRecord) -> None:
        raise ValueError("I/O operation on closed file")

    def handleError(self, record: logging.LogRecord) -> None:
        raise


def test_a_callback_that_raises_does_not_stop_the_producer(kafka_topics):
    """Seen in CI: librdkafka's log lines are served by the producer's poll thread; a handler that
    raised there ended the thread, and from then on every write of the process waited for a
    confirmation that never came (503s on every API write until a restart). The thread now counts
    the failure and goes on: writes made after it are confirmed."""
    from shared import metrics

    topic = kafka_topics.topic("adt.events.dlq")
    rdkafka = logging.getLogger("librdkafka")
    handler, level = _FailingHandler(), rdkafka.level
    rdkafka.addHandler(handler)
    rdkafka.setLevel(logging.DEBUG)
    before = metrics.PRODUCER_CALLBACK_ERRORS._value.get()
    # debug logging: librdkafka logs from its first connection on, so the handler fails at once
    producer = EventProducer(kafka_topics, "test-send-failing-log", **{"debug": "broker,msg"})
    try:
        first = producer.send_messages_sync([OutMessage(topic, b"while-logging-fails")])
        assert metrics.PRODUCER_CALLBACK_ERRORS._value.get() > before  # the handler did fail, in the poll thread
        rdkafka.removeHandler(handler)
        later = producer.send_messages_sync([OutMessage(topic, b"afterwards")])
        assert producer.alive()
    finally:
        rdkafka.removeHandler(handler)
        rdkafka.setLevel(level)
        producer.close()
    assert not producer.alive()  # what a worker's /healthz reports as "kafka_producer": false
    assert first[0].offset >= 0 and later[0].offset > first[0].offset
    values = {m.value() for m in read_topic(kafka_topics, topic, expect=2, settle=0.5)}
    assert values == {b"while-logging-fails", b"afterwards"}
