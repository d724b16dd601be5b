"""The platform proves itself: real broker, real PostgreSQL, a faust worker built from shared/."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shared.events import MemberRosterV1
from shared.kafka import EventProducer
from shared.topics import registry
from tests.support.procs import free_port, read_topic, wait_for

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = next(e for e in registry()["members.roster"].events[0].examples)


def roster_event(member_id: str = "M1") -> MemberRosterV1:
    data = dict(EXAMPLE, event_id=str(uuid.uuid4()), member_id=member_id)
    return MemberRosterV1.model_validate(data)


@pytest.fixture
def probe_worker(kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    port = free_port()
    env = dict(os.environ, KAFKA_BOOTSTRAP=settings.kafka_bootstrap, TOPIC_PREFIX=settings.topic_prefix,
               DATABASE_URL=pg_url, WEB_PORT=str(port), ENVIRONMENT="test", PYTHONPATH=str(REPO))
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.probe_worker"], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    engine = create_engine(pg_url)
    try:
        yield settings, engine, proc, tmp_path / "worker.log"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        engine.dispose()
        log.close()


def seen_rows(engine):
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT event_id, member_id FROM seen ORDER BY member_id")).fetchall()
        except Exception:  # table not created yet by the starting worker
            return None


def test_event_written_to_postgres_exactly_once_when_delivered_twice(probe_worker):
    settings, engine, proc, logfile = probe_worker
    event = roster_event("M-TWICE")

    async def produce():
        producer = EventProducer(settings, client_id="test")
        try:
            d1 = await producer.send(event)
            d2 = await producer.send(event)  # the same event delivered a second time
            assert d2.offset > d1.offset or d2.partition != d1.partition
        finally:
            producer.close()

    asyncio.run(produce())
    marker = roster_event("M-ZMARKER")  # sorts after: once it is applied, the duplicate was seen
    asyncio.run(_send(settings, marker))
    rows = wait_for(lambda: (r := seen_rows(engine)) and len(r) >= 2 and r, what="both members applied")
    assert [r.member_id for r in rows] == ["M-TWICE", "M-ZMARKER"], rows
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM processed_events WHERE event_id = :e"),
                         {"e": str(event.event_id)}).scalar()
    assert n == 1
    # The derived event was written once per applied event, not per delivery.
    derived = read_topic(settings, settings.topic("alerts.hospitalist"), expect=2)
    assert len(derived) == 2, [m.value() for m in derived]
    assert proc.poll() is None, "worker died"


async def _send(settings, event):
    producer = EventProducer(settings, client_id="test")
    try:
        await producer.send(event)
    finally:
        producer.close()


def test_malformed_message_goes_to_dead_letter_topic_and_next_good_one_is_processed(probe_worker):
    settings, engine, proc, logfile = probe_worker
    topic = settings.topic("members.roster")

    async def produce():
        producer = EventProducer(settings, client_id="test")
        try:
            await producer.send_raw(topic, b"{not json at all", key=b"M-BAD",
                                    headers=[("event_type", b"roster.member"), ("schema_version", b"1")])
            bad_schema = dict(EXAMPLE, event_id=str(uuid.uuid4()), member_id="M-BAD2", risk_tier="extreme")
            await producer.send_raw(topic, json.dumps(bad_schema).encode(), key=b"M-BAD2")
            await producer.send(roster_event("REJECT-ME"))
            await producer.send(roster_event("M-GOOD"))
        finally:
            producer.close()

    asyncio.run(produce())
    rows = wait_for(lambda: (r := seen_rows(engine)) and r, what="the good message applied")
    assert [r.member_id for r in rows] == ["M-GOOD"]
    dead = read_topic(settings, topic + ".dlq", expect=3)
    assert len(dead) == 3
    # The source topic has several partitions: dead letters arrive in any order; key them.
    by_key = {m.key(): m for m in dead}
    reason = {k: dict(m.headers())["dlq.reason"].decode() for k, m in by_key.items()}
    assert "not JSON" in reason[b"M-BAD"]
    assert "risk_tier" in reason[b"M-BAD2"]
    assert "REJECT-ME is refused" in reason[b"REJECT-ME"]
    # Original bytes are kept as they were sent.
    assert by_key[b"M-BAD"].value() == b"{not json at all"
    headers = dict(by_key[b"M-BAD2"].headers())
    assert headers["dlq.consumer"] == b"probe.roster"
    assert headers["dlq.source_topic"].decode() == topic
    assert headers["dlq.source_offset"].decode().isdigit()
    assert proc.poll() is None, "an invalid message must never stop the stream"


def test_worker_serves_metrics_and_health(probe_worker):
    import httpx

    settings, engine, proc, logfile = probe_worker
    env_port = None
    for line in open("/proc/%d/environ" % proc.pid, "rb").read().split(b"\0"):
        if line.startswith(b"WEB_PORT="):
            env_port = int(line.split(b"=", 1)[1])
    asyncio.run(_send(settings, roster_event("M-METRIC")))
    wait_for(lambda: (r := seen_rows(engine)) and r, what="event applied")

    def scrape():
        try:
            return httpx.get(f"http://127.0.0.1:{env_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return None

    body = wait_for(lambda: (b := scrape()) and 'ccp_consumer_events_total{consumer="probe.roster",outcome="processed"}' in b and b,
                    what="metrics")
    assert "M-METRIC" not in body
    health = httpx.get(f"http://127.0.0.1:{env_port}/healthz", timeout=2).json()
    assert health["ok"] is True and health["checks"] == {"db": True, "kafka_producer": True}


@contextmanager
def probe_process(settings, pg_url, log_path, **extra_env):
    """The probe worker as its own process (what a supervisor runs), stopped afterwards."""
    env = dict(os.environ, KAFKA_BOOTSTRAP=settings.kafka_bootstrap, TOPIC_PREFIX=settings.topic_prefix,
               DATABASE_URL=pg_url, ENVIRONMENT="test", PYTHONPATH=str(REPO), WEB_PORT=str(free_port()),
               **extra_env)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.probe_worker"], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT, env=env)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def test_worker_whose_kafka_fetcher_dies_exits_for_a_restart_and_loses_nothing(kafka_topics, pg_url, tmp_path):
    """faust's fetch loop dying ("Drain messages raised") used to leave a worker that answered
    /healthz but consumed nothing. The watchdog ends such a worker (exit 75, EX_TEMPFAIL) so its
    supervisor restarts it, and the restarted worker applies what the dead one never acknowledged."""
    settings = kafka_topics
    engine = create_engine(pg_url)
    log_path = tmp_path / "broken.log"
    with probe_process(settings, pg_url, log_path, PROBE_BREAK_FETCHER_ON="M-POISON") as broken:
        asyncio.run(_send(settings, roster_event("M-BEFORE")))
        wait_for(lambda: (r := seen_rows(engine)) and len(r) >= 1, timeout=90, what="the first event applied")
        asyncio.run(_send(settings, roster_event("M-POISON")))
        code = broken.wait(90)
    # Either faust's own crash handling ends the worker (exit 1) or, when its shutdown hangs
    # waiting for streams the dead fetcher no longer feeds, the watchdog does (exit 75): both
    # are a non-zero exit a supervisor restarts, never a live process that consumes nothing.
    assert code in (1, 75), log_path.read_text()[-3000:]
    if code == 75:
        assert "the Kafka fetcher has stopped" in log_path.read_text()
    assert [r.member_id for r in seen_rows(engine)] == ["M-BEFORE"]

    with probe_process(settings, pg_url, tmp_path / "restarted.log"):
        rows = wait_for(lambda: (r := seen_rows(engine)) and len(r) >= 2 and r, timeout=90,
                        what="the restarted worker to apply the event the dead one never acknowledged")
        assert sorted(r.member_id for r in rows) == ["M-BEFORE", "M-POISON"]
    engine.dispose()


def test_worker_whose_stop_hangs_on_an_unfinished_batch_is_ended_and_the_batch_applied_once(
        kafka_topics, pg_url, tmp_path):
    """SIGTERM while a batch never finishes: faust's stop waits for its streams forever. The
    watchdog ends the process after its stop deadline (exit 75) instead of leaving a worker that
    neither consumes nor exits; the batch was never acknowledged, so a restarted worker applies it,
    once."""
    settings = kafka_topics
    engine = create_engine(pg_url)
    log_path = tmp_path / "stalled.log"
    with probe_process(settings, pg_url, log_path, PROBE_STALL_ON="M-STALL") as stalled:
        asyncio.run(_send(settings, roster_event("M-STALL")))
        wait_for(lambda: "stalling on purpose" in log_path.read_text(errors="replace"), timeout=90,
                 what="the worker to be inside the batch")
        stalled.terminate()
        code = stalled.wait(90)
    log_text = log_path.read_text(errors="replace")
    assert code == 75, log_text[-3000:]
    assert "stopping has taken" in log_text
    assert not seen_rows(engine)

    with probe_process(settings, pg_url, tmp_path / "restarted.log"):
        rows = wait_for(lambda: seen_rows(engine), timeout=90, what="the redelivered batch applied")
        assert [r.member_id for r in rows] == ["M-STALL"]
        time.sleep(2)
        assert len(seen_rows(engine)) == 1
    engine.dispose()
