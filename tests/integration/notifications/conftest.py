"""Notifications integration fixtures: one topic namespace, one PostgreSQL database and the
worker and API processes per module, started as a user starts them; receivers per test.

The worker is told to allow 127.0.0.1 as an outbound address (``OUTBOUND_ALLOW_NETWORKS``) and
any port: the receivers listen on loopback. Every other address stays refused."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from services.notifications.settings import NotificationsSettings
from shared.auth import DEV_USERS_FILE, hash_key
from shared.events import Event
from shared.kafka import EventProducer
from shared.kafka_admin import delete_topics, ensure_topics
from shared.topics import all_topics
from tests.support.infra import Databases, new_topic_prefix
from tests.support.procs import Proc, free_port, start_process, wait_for

PRACTICE_KEY = "test-practice-p001"
OTHER_PRACTICE_KEY = "test-practice-p002"


def write_users_file(path: Path) -> Path:
    data = yaml.safe_load(DEV_USERS_FILE.read_text())
    data["users"] += [
        {"id": "practice.p001", "name": "Practice P001", "roles": [], "practices": ["P001"],
         "api_keys_sha256": [hash_key(PRACTICE_KEY)]},
        {"id": "practice.p002", "name": "Practice P002", "roles": [], "practices": ["P002"],
         "api_keys_sha256": [hash_key(OTHER_PRACTICE_KEY)]},
    ]
    path.write_text(yaml.safe_dump(data))
    return path


@dataclass
class NotifEnv:
    settings: NotificationsSettings
    db_url: str
    engine: Engine
    users_file: Path
    tmp: Path
    api: Proc | None = None
    worker: Proc | None = None

    def env(self, **extra: str) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap, "TOPIC_PREFIX": self.settings.topic_prefix,
                "DATABASE_URL": self.db_url, "USERS_FILE": str(self.users_file), "ENVIRONMENT": "test",
                "OUTBOUND_ALLOW_NETWORKS": "127.0.0.1/32", "OUTBOUND_PORTS": "*", "WORKER_WITHIN_S": "0.02",
                "DISPATCH_POLL_S": "0.2", "OVERDUE_INTERVAL_S": "1", "GAUGES_INTERVAL_S": "1", **extra}

    def produce(self, events: list[Event]) -> None:
        producer = EventProducer(self.settings, client_id="notifications-test")
        try:
            producer.send_sync(events)
        finally:
            producer.close()

    def client(self, key: str = "dev-ops") -> httpx.Client:
        assert self.api is not None
        return httpx.Client(base_url=f"http://127.0.0.1:{self.api.http_port}", headers={"X-API-Key": key}, timeout=15)

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).fetchall()

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def enroll(self, *rosters: Event, timeout: float = 30) -> None:
        """Produce roster snapshots and wait until the worker stored them (topics are not ordered
        with each other: an alert could otherwise overtake its member's roster)."""
        self.produce(list(rosters))
        ids = [r.member_id for r in rosters]
        wait_for(lambda: self.scalar("SELECT count(*) FROM members WHERE member_id = ANY(:ids)", ids=ids) == len(ids),
                 timeout, what="roster stored")

    def subscribe(self, receiver_url: str, topics: list[str], **extra) -> dict:
        with self.client() as c:
            r = c.post("/subscriptions", json={"endpoint": receiver_url, "topics": topics, **extra})
        assert r.status_code == 201, r.text
        return r.json()


def start(env: NotifEnv, process: str, **extra: str) -> Proc:
    port = free_port()
    key = "WORKER_PORT" if process == "worker" else "API_PORT"
    proc = start_process("notifications", process, env.env(**{key: str(port)}, **extra), env.tmp, http_port=port)
    return proc.wait_healthy(60)


@pytest.fixture(scope="module")
def notif_env(kafka_bootstrap, postgres_server_url, tmp_path_factory) -> NotifEnv:
    tmp = tmp_path_factory.mktemp("notifications")
    prefix = new_topic_prefix()
    base = NotificationsSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, environment="test")
    created = ensure_topics(base, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    databases = Databases(postgres_server_url)
    db_url = databases.new()
    settings = NotificationsSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, environment="test",
                                     database_url=db_url)
    env = NotifEnv(settings, db_url, create_engine(db_url), write_users_file(tmp / "users.yaml"), tmp)
    env.api = start(env, "api")
    env.worker = start(env, "worker")
    yield env
    for p in (env.worker, env.api):
        if p:
            p.stop()
    env.engine.dispose()
    databases.drop_all()
    delete_topics(base, created.keys())


def unique(prefix: str = "x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
