"""Every load ends in a terminal state, with its reason, in its report, its PostgreSQL row and
the API: out of time (``LOAD_TIME_BUDGET_S``) in either mode, and when the process running it
is killed mid-load (the API at start, and the next CLI load, mark it failed).

Real broker, real PostgreSQL, the CLI and the API as a user starts them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from services.intake import metrics
from services.intake.adapters.ownership import INTERRUPTED
from services.intake.adapters.wiring import database as open_database, load_context
from services.intake.app import load_claims
from shared.kafka import EventProducer
from tests.support.procs import REPO, free_port, start_process, wait_for

from .conftest import replace_settings
from .x12_build import Claim, Line, professional

OPS = {"Authorization": "Bearer dev-ops"}


def big_837(path: Path, claims: int = 6000) -> Path:
    """One interchange of ``claims`` two-line claims (about 80,000 segments)."""
    day = date(2026, 3, 2)
    batch = [Claim(f"M{n % 500:05d}", f"TB{n:07d}", [Line("99213", day + timedelta(days=n % 20)),
                                                        Line("3044F", day, charge="0")]) for n in range(claims)]
    from datetime import datetime, timezone

    path.write_text(professional(batch, at=datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)))
    return path


@pytest.fixture(scope="module")
def ctx_factory(intake_infra):
    env = intake_infra
    made = []

    def make(**settings):
        s = replace_settings(env.settings, **settings)
        db = open_database(s)
        producer = EventProducer(s, client_id="intake-terminal-test")
        made.append((db, producer))
        return load_context(s, db, producer)

    yield env, make
    for db, producer in made:
        producer.close()
        db.dispose()


def _row(env, load_id: str) -> tuple[str, dict]:
    status, report = env.rows("SELECT status, report FROM ingest_loads WHERE load_id = :i", i=load_id)[0]
    return status, json.loads(report)


@pytest.mark.parametrize("validate", [False, True], ids=["fast", "validate"])
def test_a_load_out_of_time_ends_failed_with_the_reason(ctx_factory, tmp_path, validate):
    env, make = ctx_factory
    ctx = make(load_time_budget_s=0.05)
    path = big_837(tmp_path / f"big-{validate}.x12")
    failed = metrics.LOADS_FINISHED.labels("claims", "x12", "failed")
    before = failed._value.get()
    report = load_claims(ctx, path, validate=validate, force=True)
    assert failed._value.get() == before + 1  # what ops alert on
    assert report.status == "failed" and "LOAD_TIME_BUDGET_S" in report.error and "loading the same input again is "\
        "safe" in report.error
    assert report.accepted < 6000
    if validate:
        assert "before validation ended" in report.error and report.accepted == 0
    status, stored = _row(env, report.load_id)
    assert status == "failed" and stored["error"] == report.error
    assert json.loads(Path(report.report_file).read_text())["status"] == "failed"
    # what it reports as produced is on the broker
    produced = [e for e in env.events("claims.events") if e.source == f"claims:{path.name}"]
    assert len(produced) == report.accepted


def _cli_load(env, path: Path, *extra: str) -> subprocess.Popen:
    full = dict(os.environ, PYTHONPATH=str(REPO), LOG_LEVEL="WARNING", **env.env())
    return subprocess.Popen([sys.executable, "-m", "services.intake", "load-claims", str(path), "--no-progress", *extra],
                            cwd=REPO, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _running_load(env, file_name: str) -> str:
    return wait_for(lambda: (rows := env.rows("SELECT load_id FROM ingest_loads WHERE file_name = :f AND status = "
                                              "'running'", f=file_name)) and rows[0][0], 90,
                    what=f"a running load of {file_name}")


def test_a_load_whose_process_is_killed_ends_failed_at_the_next_start(intake_infra, tmp_path):
    env = intake_infra
    assert env.cli("migrate").returncode == 0
    first = big_837(tmp_path / "killed-by-api.x12")
    proc = _cli_load(env, first, "--validate")
    try:
        killed = _running_load(env, first.name)
    finally:
        proc.kill()
        proc.wait(10)
    assert _row(env, killed)[0] == "running"  # nobody has looked yet

    # The API, starting, ends the loads of processes that are gone; its report says why.
    port = free_port()
    api = start_process("intake", "api", env.env(API_PORT=str(port)), tmp_path, http_port=port)
    try:
        api.wait_healthy(60)
        status, stored = _row(env, killed)
        assert status == "failed" and stored["error"] == INTERRUPTED
        body = httpx.get(f"http://127.0.0.1:{port}/loads/{killed}", headers=OPS, timeout=10).json()
        assert body["status"] == "failed" and body["error"] == INTERRUPTED
        assert body["report"]["status"] == "failed"
    finally:
        api.stop()

    # A CLI load does the same before it starts its own.
    second = big_837(tmp_path / "killed-by-cli.x12", claims=6001)
    proc = _cli_load(env, second, "--validate")
    try:
        killed2 = _running_load(env, second.name)
    finally:
        proc.kill()
        proc.wait(10)
    small = tmp_path / "small.x12"
    big_837(small, claims=2)
    done = env.cli("load-claims", str(small), "--no-progress", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "done"
    status, stored = _row(env, killed2)
    assert status == "failed" and "stopped before it finished" in stored["error"]
    assert not env.rows("SELECT load_id FROM ingest_loads WHERE status = 'running'")
