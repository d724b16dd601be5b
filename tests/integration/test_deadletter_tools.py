"""Operators list dead letters with their reasons and replay them to the source topic."""

from __future__ import annotations

from carectl.deadletters import dlq_topics, read_dead_letters, replay
from shared.deadletter import DeadLetters
from shared.kafka import EventProducer
from tests.support.procs import read_topic


def test_list_shows_reason_and_replay_restores_original_bytes(kafka_topics):
    settings = kafka_topics
    source = settings.topic("claims.events")
    producer = EventProducer(settings, client_id="test")
    try:
        DeadLetters(producer, "gaps.claims").send_sync(
            source, b'{"broken": true}', b"M42", [("event_type", b"claim.submitted")],
            reason="invalid event: lines.0.service_date: Field required", partition=1, offset=17)
    finally:
        producer.close()

    letters = read_dead_letters(settings, dlq_topics(settings))
    assert len(letters) == 1
    dl = letters[0]
    assert dl.topic == source + ".dlq"
    assert dl.reason == "invalid event: lines.0.service_date: Field required"
    assert dl.header("dlq.consumer") == "gaps.claims"
    assert dl.header("dlq.source_offset") == "17"
    assert dl.source_topic == source

    assert replay(settings, letters) == 1
    back = read_topic(settings, source, expect=1)
    assert len(back) == 1
    assert back[0].value() == b'{"broken": true}' and back[0].key() == b"M42"
    headers = dict(back[0].headers())
    assert headers["event_type"] == b"claim.submitted"
    assert "dlq.reason" not in headers  # the original headers, not the dead letter's
    assert headers["dlq.replayed_from"].decode() == f"{source}.dlq:{dl.partition}:{dl.offset}"
