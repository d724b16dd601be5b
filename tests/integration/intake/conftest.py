"""Intake integration fixtures: one topic namespace and one PostgreSQL database per module, the
intake API started once as the user starts it (``python -m services.intake api``); each test
uses its own member ids. Intake has no worker: what it produced is read back from the topics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from services.intake.adapters.wiring import database, load_context
from services.intake.settings import IntakeSettings
from shared.kafka import EventProducer
from shared.kafka_admin import delete_topics, ensure_topics
from shared.topics import all_topics
from tests.support.topics import member_events
from tests.support.procs import REPO, Proc, free_port, start_process
from tests.support.infra import new_topic_prefix

ROSTER_HEADER = ("member_id,given_name,family_name,birth_date,sex,mrns,pcp_practice_id,pcp_npi,hospitalist_group,"
                 "pod,contract_id,program,risk_tier,eligibility_start,eligibility_end")


def roster_row(member_id: str, *, birth: str = "1960-05-01", sex: str = "F", practice: str = "P001",
               pod: str = "pod-east", contract: str = "GR-2026") -> str:
    return (f"{member_id},Testa,Person,{birth},{sex},MERCY:MRN-{member_id},{practice},1234567893,HG-NORTH,{pod},"
            f"{contract},MSSP,moderate,2025-01-01,")


def roster_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([ROSTER_HEADER, *rows]) + "\n")
    return path


@dataclass
class IntakeEnv:
    settings: IntakeSettings
    db_url: str
    engine: Engine
    tmp: Path
    api: Proc | None = None
    api_port: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap, "TOPIC_PREFIX": self.settings.topic_prefix,
                "DATABASE_URL": self.db_url, "ENVIRONMENT": "test", "VAR_DIR": str(self.tmp / "var"), **extra}

    def cli(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        """``python -m services.intake <args>`` as a user runs it."""
        env = dict(os.environ, PYTHONPATH=str(REPO), LOG_LEVEL="WARNING", **self.env())
        return subprocess.run([sys.executable, "-m", "services.intake", *args], cwd=REPO, env=env, text=True,
                              capture_output=True, timeout=timeout)

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def events(self, topic: str, member_ids: set[str] | None = None) -> list:
        """Every event on ``topic`` (registry name) so far, optionally for these members, in offset
        order per partition (one member's events are on one partition). Reads each partition up
        to its high watermark (assigned, no consumer group to join)."""
        return member_events(self.settings, topic, member_ids)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}", timeout=30)


@pytest.fixture(scope="module")
def intake_infra(kafka_bootstrap, postgres_server_url, tmp_path_factory):
    """Topics under a fresh prefix and a fresh database for the module (no processes)."""
    prefix = new_topic_prefix()
    tmp = tmp_path_factory.mktemp("intake")
    settings = IntakeSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, var_dir=tmp / "var",
                              environment="test")
    created = ensure_topics(settings, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(postgres_server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(db_url)
    env = IntakeEnv(replace_settings(settings, database_url=db_url), db_url, engine, tmp)
    try:
        yield env
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        delete_topics(settings, created.keys())


def replace_settings(settings: IntakeSettings, **changes) -> IntakeSettings:
    return settings.model_copy(update=changes)


@pytest.fixture(scope="module")
def intake(intake_infra):
    """The module's environment with the API running."""
    env = intake_infra
    result = env.cli("migrate")
    assert result.returncode == 0, result.stderr
    api_port = free_port()
    env.api = start_process("intake", "api", env.env(API_PORT=str(api_port)), env.tmp, http_port=api_port)
    env.api_port = api_port
    try:
        env.api.wait_healthy(60)
        yield env
    finally:
        env.api.stop()


@pytest.fixture(scope="module")
def loads(intake_infra):
    """(env, a load context of this process, the database): the code path of the CLI and the API."""
    env = intake_infra
    db = database(env.settings)
    producer = EventProducer(env.settings, client_id="intake-load-test")
    yield env, load_context(env.settings, db, producer), db
    producer.close()
    db.dispose()


def read_report(path: Path) -> dict:
    return json.loads(path.read_text())


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"

