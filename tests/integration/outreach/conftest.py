"""Outreach integration fixtures: one topic namespace, one PostgreSQL database, one worker and
one API process per module (the processes start once; each test uses its own member ids).

The users file is the development users plus a pod of six test nurses (``pod-load``, keys
``test-nurse-load<i>``) for the parallel claim tests.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from services.outreach.adapters.database import open_database
from services.outreach.app.staff import Staff
from services.outreach.settings import OutreachSettings
from shared.auth import DEV_USERS_FILE, UserDirectory, hash_key
from shared.events import Event
from shared.kafka import EventProducer
from shared.kafka_admin import delete_topics, ensure_topics
from shared.topics import all_topics
from tests.support.procs import Proc, free_port, start_process, wait_for
from tests.support.infra import new_topic_prefix

LOAD_POD = "pod-load"
LOAD_NURSES = 6


def load_key(i: int) -> str:
    return f"test-nurse-load{i}"


def write_users_file(path: Path) -> Path:
    data = yaml.safe_load(DEV_USERS_FILE.read_text())
    for i in range(LOAD_NURSES):
        data["users"].append({"id": f"nurse.load{i}", "name": f"Load Nurse {i}", "roles": ["nurse"],
                              "pods": [LOAD_POD], "capacity": 500, "api_keys_sha256": [hash_key(load_key(i))]})
    path.write_text(yaml.safe_dump(data))
    return path


@dataclass
class OutreachEnv:
    settings: OutreachSettings
    db_url: str
    engine: Engine
    users_file: Path
    tmp: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap, "TOPIC_PREFIX": self.settings.topic_prefix,
                "DATABASE_URL": self.db_url, "USERS_FILE": str(self.users_file), "ENVIRONMENT": "test", **extra}

    def produce(self, events: list[Event]) -> None:
        producer = EventProducer(self.settings, client_id="outreach-test")
        try:
            producer.send_sync(events)
        finally:
            producer.close()

    def enroll(self, roster: Event, timeout: float = 30) -> None:
        """Produce a roster snapshot and wait until the worker stored it (topics are not ordered
        across each other: a gap event may otherwise overtake the member's roster)."""
        self.produce([roster])
        wait_for(lambda: self.scalar("SELECT roster_event_id FROM member_profiles WHERE member_id = :m",
                                     m=roster.member_id) == str(roster.event_id), timeout, what="roster stored")

    def seed(self, events: list[Event], *, users_file: Path | None = None) -> list[Event]:
        """Apply events with the worker's routes table in this process (no Kafka): fast setup."""
        from .events import apply_events

        db = open_database(self.db_url, pool_size=2)
        try:
            staff = Staff(UserDirectory.load(users_file or self.users_file))
            return apply_events(db, self.settings.decision_context(), staff, events)
        finally:
            db.dispose()

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).fetchall()


def _create_db(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_db(server_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def outreach_env(kafka_bootstrap, postgres_server_url, tmp_path_factory) -> OutreachEnv:
    tmp = tmp_path_factory.mktemp("outreach")
    prefix = new_topic_prefix()
    settings = OutreachSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, environment="test")
    created = ensure_topics(settings, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    db_url = _create_db(postgres_server_url)
    settings = OutreachSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, environment="test",
                                database_url=db_url)
    users = write_users_file(tmp / "users.yaml")
    open_database(db_url, pool_size=2).dispose()
    engine = create_engine(db_url)
    yield OutreachEnv(settings, db_url, engine, users, tmp)
    engine.dispose()
    _drop_db(postgres_server_url, db_url)
    delete_topics(settings, created.keys())


def _start(env: OutreachEnv, process: str, **extra: str) -> Proc:
    port = free_port()
    key = "WORKER_PORT" if process == "worker" else "API_PORT"
    proc = start_process("outreach", process, env.env(**{key: str(port)}, **extra), env.tmp, http_port=port)
    return proc.wait_healthy(60)


@pytest.fixture(scope="module")
def worker(outreach_env) -> Proc:
    proc = _start(outreach_env, "worker", MAINTENANCE_INTERVAL_S="1", WORKER_WITHIN_S="0.02")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def api(outreach_env) -> Proc:
    proc = _start(outreach_env, "api")
    yield proc
    proc.stop()


def client(api: Proc, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=f"http://127.0.0.1:{api.http_port}", headers=headers, timeout=15)


def wait_rows(env: OutreachEnv, sql: str, n: int, timeout: float = 30, **params) -> list:
    return wait_for(lambda: (r := env.rows(sql, **params)) and len(r) >= n and r, timeout,
                    what=f"{n} row(s) of: {sql}")


def topic_messages(env: OutreachEnv, topic: str, predicate, timeout: float = 30.0) -> list:
    """Read ``topic`` from the beginning until ``predicate(messages)`` holds (or time out)."""
    from confluent_kafka import Consumer

    c = Consumer({**env.settings.kafka_client_config(), "group.id": f"reader-{uuid.uuid4()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([env.settings.topic(topic)])
    out: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            m = c.poll(0.3)
            if m is not None and not m.error():
                out.append(m)
            elif predicate(out):
                return out
    finally:
        c.close()
    raise AssertionError(f"timed out reading {topic}: {len(out)} message(s)")
