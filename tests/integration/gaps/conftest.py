"""Gaps integration fixtures: one topic namespace and one PostgreSQL database per module, the
gaps worker and API started once as the user starts them (``python -m services.gaps ...``);
each test uses its own member ids. Roster and claims files are loaded as the platform loads
them, through intake (``python -m services.intake load-roster / load-claims``, ``GapsEnv.intake``):
intake's tables in a schema of their own (``intake``) of the module's database, the same topics.

The processes evaluate as of 2026-06-30 in the 2026 measurement period (EVALUATION_DATE,
MEASUREMENT_YEAR), so statuses do not depend on the day the tests run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from carectl.processes import with_schema
from services.gaps.settings import GapsSettings
from shared.kafka_admin import delete_topics, ensure_topics
from shared.topics import all_topics
from tests.support.topics import member_events
from tests.support.procs import REPO, Proc, free_port, start_process, wait_for
from tests.support.infra import new_topic_prefix

AS_OF = date(2026, 6, 30)
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
class GapsEnv:
    settings: GapsSettings
    db_url: str
    engine: Engine
    tmp: Path
    worker: Proc | None = None
    api: Proc | None = None
    api_port: int = 0
    intake_url: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap, "TOPIC_PREFIX": self.settings.topic_prefix,
                "DATABASE_URL": self.db_url, "ENVIRONMENT": "test", "MEASUREMENT_YEAR": "2026",
                "EVALUATION_DATE": AS_OF.isoformat(), "VAR_DIR": str(self.tmp / "var"),
                "MAINTENANCE_INTERVAL_S": "5", **extra}

    def cli(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        """``python -m services.gaps <args>`` as a user runs it."""
        env = dict(os.environ, PYTHONPATH=str(REPO), LOG_LEVEL="WARNING", **self.env())
        return subprocess.run([sys.executable, "-m", "services.gaps", *args], cwd=REPO, env=env, text=True,
                              capture_output=True, timeout=timeout)

    def intake(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        """``python -m services.intake <args>`` (``load-roster FILE``, ``load-claims FILE``) as a user
        runs it: intake's database schema, the module's topics."""
        env = dict(os.environ, PYTHONPATH=str(REPO), LOG_LEVEL="WARNING", **self.env(DATABASE_URL=self.intake_url))
        return subprocess.run([sys.executable, "-m", "services.intake", *args], cwd=REPO, env=env, text=True,
                              capture_output=True, timeout=timeout)

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def statuses(self, member_id: str) -> dict[str, str]:
        return {r.measure_id + (f"|{r.instance_id}" if r.instance_id else ""): r.status
                for r in self.rows("SELECT measure_id, instance_id, status FROM gaps WHERE member_id = :m", m=member_id)}

    def events(self, topic: str, member_ids: set[str] | None = None) -> list:
        """Every event on ``topic`` (registry name) so far, optionally for these members, in offset
        order per partition (one member's events are on one partition). Reads each partition up
        to its high watermark (assigned, no consumer group to join)."""
        return member_events(self.settings, topic, member_ids)

    def gap_events(self, member_ids: set[str], expect: int, timeout: float = 45) -> list:
        return wait_for(lambda: (evs := self.events("gaps.events", member_ids)) and len(evs) >= expect and evs,
                        timeout, what=f"{expect} gap events for {sorted(member_ids)}")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}", timeout=30)


@pytest.fixture(scope="module")
def gaps_infra(kafka_bootstrap, postgres_server_url, tmp_path_factory):
    """Topics under a fresh prefix and a fresh database for the module (no processes)."""
    prefix = new_topic_prefix()
    tmp = tmp_path_factory.mktemp("gaps")
    settings = GapsSettings(kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix, measurement_year=2026,
                            evaluation_date=AS_OF, var_dir=tmp / "var", environment="test")
    created = ensure_topics(settings, [replace(s, partitions=min(s.partitions, 2)) for s in all_topics()])
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(postgres_server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(db_url)
    env = GapsEnv(replace_settings(settings, database_url=db_url), db_url, engine, tmp,
                  intake_url=with_schema(db_url, "intake"))
    try:
        yield env
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        delete_topics(settings, created.keys())


def replace_settings(settings: GapsSettings, **changes) -> GapsSettings:
    return settings.model_copy(update=changes)


@pytest.fixture(scope="module")
def gaps(gaps_infra):
    """The module's environment with the worker and the API running."""
    env = gaps_infra
    for result in (env.cli("migrate"), env.intake("migrate")):
        assert result.returncode == 0, result.stderr
    worker_port, api_port = free_port(), free_port()
    env.worker = start_process("gaps", "worker", env.env(WORKER_PORT=str(worker_port)), env.tmp, http_port=worker_port)
    env.api = start_process("gaps", "api", env.env(API_PORT=str(api_port)), env.tmp, http_port=api_port)
    env.api_port = api_port
    try:
        env.worker.wait_healthy(90)
        env.api.wait_healthy(60)
        yield env
    finally:
        for proc in (env.api, env.worker):
            if proc is not None:
                proc.stop()


def wait_members(env: GapsEnv, member_ids: list[str], timeout: float = 45) -> None:
    """Wait until the worker evaluated these members (their gap rows exist)."""
    wait_for(lambda: env.scalar("SELECT count(DISTINCT member_id) FROM gaps WHERE member_id = ANY(:m)",
                                m=member_ids) == len(member_ids), timeout, what="members evaluated")


def read_report(path: Path) -> dict:
    return json.loads(path.read_text())


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"

