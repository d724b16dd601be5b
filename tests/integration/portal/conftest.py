"""Portal integration fixtures: one topic namespace, one PostgreSQL database and one worker
process per module (each test uses its own member ids); the API runs in this process
(``TestClient``) against the same database and topics, with a clock the test can move."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from services.portal.adapters.database import open_database
from services.portal.domain.signin import dev_signin_code
from services.portal.settings import PortalSettings
from shared.events import Event
from shared.kafka import EventProducer
from shared.kafka_admin import delete_topics, ensure_topics
from shared.topics import all_topics
from tests.support.infra import Databases, new_topic_prefix
from tests.support.procs import Proc, free_port, start_process, wait_for


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@dataclass
class PortalEnv:
    settings: PortalSettings
    db_url: str
    engine: Engine
    tmp: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap, "TOPIC_PREFIX": self.settings.topic_prefix,
                "DATABASE_URL": self.db_url, "ENVIRONMENT": "test", **extra}

    def produce(self, events: list[Event]) -> None:
        producer = EventProducer(self.settings, client_id="portal-test")
        try:
            producer.send_sync(events)
        finally:
            producer.close()

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).fetchall()

    def wait_member(self, member_id: str, timeout: float = 30) -> None:
        wait_for(lambda: self.scalar("SELECT count(*) FROM portal_members WHERE member_id = :m", m=member_id) == 1,
                 timeout, what="member projected")

    def api(self, clock: Clock | None = None, **overrides):
        from fastapi.testclient import TestClient

        from services.portal.api import create_api

        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        app = create_api(settings, now=(clock or Clock()).now)
        return TestClient(app, base_url="http://testserver", follow_redirects=False)


def member_id(prefix: str = "M") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def sign_in(client, member: str, code: str | None = None):
    """Sign in through the form as a browser does (the form's token, then the POST)."""
    page = client.get("/signin")
    token = re.search(r'name="signin_token" value="([^"]+)"', page.text).group(1)
    return client.post("/signin", data={"member_id": member, "code": code or dev_signin_code(member),
                                        "signin_token": token})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_token_of(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def portal_env(kafka_bootstrap, postgres_server_url, tmp_path_factory) -> PortalEnv:
    tmp = tmp_path_factory.mktemp("portal")
    prefix = new_topic_prefix()
    base = PortalSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, environment="test")
    created = ensure_topics(base, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    databases = Databases(postgres_server_url)
    db_url = databases.new()
    settings = base.model_copy(update={"database_url": db_url, "var_dir": tmp})
    open_database(db_url, pool_size=2).dispose()
    engine = create_engine(db_url)
    yield PortalEnv(settings, db_url, engine, tmp)
    engine.dispose()
    databases.drop_all()
    delete_topics(base, created.keys())


@pytest.fixture(scope="module")
def worker(portal_env) -> Proc:
    port = free_port()
    proc = start_process("portal", "worker", portal_env.env(WORKER_PORT=str(port), WORKER_WITHIN_S="0.02"),
                         portal_env.tmp, http_port=port)
    proc.wait_healthy(60)
    yield proc
    proc.stop()


def topic_messages(settings, topic: str, predicate, timeout: float = 30.0) -> list:
    """Read ``topic`` from the beginning until ``predicate(messages)`` holds (or time out)."""
    from confluent_kafka import Consumer

    c = Consumer({**settings.kafka_client_config(), "group.id": f"reader-{uuid.uuid4()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([settings.topic(topic)])
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
