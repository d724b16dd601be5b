"""The offset commit is explicit: a batch's offsets are committed by the consumer loop only after
its transaction committed (shared.faust_app.consume, shared.consumer). A worker SIGKILLed at each
step of a batch — received (nothing applied), applied (transaction committed, offsets not), and
committed (offsets committed) — loses nothing and applies nothing twice once restarted: every
event has exactly one application row and one derived event, and the group's committed offsets
reach the end of the topic. Which step it died at shows in what the restarted worker sees: the
applied-but-uncommitted batch comes back and is skipped as duplicates; a committed one does not
come back at all.

Real broker, real PostgreSQL, the probe worker built from shared/ as its own process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from shared.faust_app import STEPS
from shared.kafka import EventProducer
from tests.reliability.invariants import group_lag
from tests.support.procs import free_port, read_topic, wait_for

from .test_platform import roster_event

REPO = Path(__file__).resolve().parents[2]
MARK = "KILL-ME"


def start(settings, pg_url, log_path: Path, **extra) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, KAFKA_BOOTSTRAP=settings.kafka_bootstrap, TOPIC_PREFIX=settings.topic_prefix,
               DATABASE_URL=pg_url, ENVIRONMENT="test", PYTHONPATH=str(REPO), WEB_PORT=str(port), **extra)
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.probe_worker"], cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    return proc, port


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def applications(engine) -> dict[str, int]:
    with engine.connect() as conn:
        try:
            rows = conn.execute(text("SELECT event_id, count(*) FROM applications GROUP BY event_id")).fetchall()
        except Exception:  # noqa: BLE001 - the worker has not created its tables yet
            return {}
    return {r[0]: r[1] for r in rows}


def duplicates_seen(port: int) -> float:
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in body.splitlines():
        if line.startswith('ccp_consumer_events_total{consumer="probe.roster",outcome="duplicate"}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.parametrize("step", STEPS)
def test_a_worker_killed_at_each_step_of_a_batch_loses_nothing_and_applies_nothing_twice(
        step, kafka_topics, pg_url, tmp_path):
    settings = kafka_topics
    engine = create_engine(pg_url)
    events = [roster_event(f"M-{i:02d}") for i in range(10)] + [roster_event(MARK)] + \
        [roster_event(f"M-{i:02d}") for i in range(10, 20)]
    ids = {str(e.event_id) for e in events}
    mark_id = str(events[10].event_id)
    producer = EventProducer(settings, client_id="kill-test")
    producer.send_sync(events)
    producer.close()

    killed, _ = start(settings, pg_url, tmp_path / "killed.log", PROBE_KILL_AT=step, PROBE_KILL_ON=MARK)
    try:
        code = killed.wait(120)
    finally:
        stop(killed)
    log = (tmp_path / "killed.log").read_text(errors="replace")
    assert code == -9 and f"killing itself at step {step}" in log, log[-3000:]
    before = applications(engine)
    if step == "received":
        assert mark_id not in before  # killed before its transaction: nothing of that batch applied
    else:
        assert before.get(mark_id) == 1  # killed after its transaction committed

    restarted, port = start(settings, pg_url, tmp_path / "restarted.log")
    try:
        # Events after the restart, on every partition: once they are applied, the restarted
        # worker has read past everything before them (so what it saw as duplicates is final).
        later = [roster_event(f"N-{i:02d}") for i in range(10)]
        producer = EventProducer(settings, client_id="kill-test")
        producer.send_sync(later)
        producer.close()
        events += later
        ids |= {str(e.event_id) for e in later}
        partitions = {m.partition() for m in read_topic(settings, settings.topic("members.roster"), len(events))
                      if m.key().startswith(b"N-")}
        assert len(partitions) == 2, partitions
        wait_for(lambda: set(applications(engine)) == ids, timeout=120,
                 what="the restarted worker to apply every event")
        group = f"{settings.topic_prefix}ccp-probe-worker"  # the probe worker's consumer group
        wait_for(lambda: group_lag(settings, group, ("members.roster",)) == 0, timeout=60,
                 what="the group's offsets committed to the end of the topic")
        after = applications(engine)
        assert set(after.values()) == {1}, {k: v for k, v in after.items() if v != 1}
        derived = read_topic(settings, settings.topic("alerts.hospitalist"), expect=len(events), settle=2.0)
        derived_ids = [dict(m.headers())["event_id"] for m in derived]
        assert len(derived_ids) == len(events) == len(set(derived_ids))  # one derived event each, none twice
        dup = duplicates_seen(port)
        if step == "applied":
            assert dup >= 1  # applied, not committed: redelivered and recognised
        else:
            assert dup == 0  # nothing of it applied (received), or its offsets were committed (committed)
    finally:
        stop(restarted)
        engine.dispose()

