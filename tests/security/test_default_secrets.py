"""Outside development, no process starts with default secrets.

For each service, ``python -m services.<name> api`` with ``ENVIRONMENT=production`` exits
non-zero with a message that names what to set when: there is no ``USERS_FILE`` (the
development users would apply), ``USERS_FILE`` is the development users file (well-known
keys), or a production users file still holds a development key. The outreach page also
refuses a missing or short ``SESSION_SECRET``, and reading risk views (``RISK_API_URL``) without
a key of its own (``RISK_API_KEY``, not a development one). As a control, each api starts with a
production users file of its own (and, for outreach, a real session secret).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.auth import DEV_USERS_FILE, hash_key
from tests.support.procs import REPO, free_port, start_process

SERVICES = ("admissions", "gaps", "outreach", "billing", "risk")
SESSION_SECRET = secrets.token_urlsafe(40)


def production_users(path: Path, *, with_dev_key: bool = False) -> Path:
    keys = [hash_key(secrets.token_urlsafe(24))]
    if with_dev_key:
        keys.append(hash_key("dev-admin"))
    path.write_text(yaml.safe_dump({"users": [
        {"id": "ops.lead", "name": "Ops Lead", "roles": ["admin"], "api_keys_sha256": keys}]}))
    return path


def run_api(service: str, tmp_path: Path, kafka_bootstrap: str, **env: str) -> subprocess.CompletedProcess:
    full = {"ENVIRONMENT": "production", "PYTHONPATH": str(REPO), "VAR_DIR": str(tmp_path), "KAFKA_BOOTSTRAP":
            kafka_bootstrap, "API_PORT": str(free_port()), "PATH": "/usr/bin:/bin", "LOG_LEVEL": "WARNING",
            "SESSION_SECRET": SESSION_SECRET, **env}
    full = {k: v for k, v in full.items() if v is not None}
    return subprocess.run([sys.executable, "-m", f"services.{service}", "api"], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=60)


CASES = {
    "no users file": (lambda tmp: None, "USERS_FILE must be set"),
    "the development users file": (lambda tmp: str(DEV_USERS_FILE), "development API keys"),
    "a production file holding a development key":
        (lambda tmp: str(production_users(tmp / "users.yaml", with_dev_key=True)), "development API keys"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("service", SERVICES)
def test_the_api_refuses_to_start_in_production_with_default_users(service, case, tmp_path, kafka_bootstrap):
    users_file, message = CASES[case]
    done = run_api(service, tmp_path, kafka_bootstrap, USERS_FILE=users_file(tmp_path))
    assert done.returncode != 0
    assert message in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, "a refusal is a message, not a crash"


@pytest.mark.parametrize("secret, message", [
    (None, "SESSION_SECRET must be set in production"),
    ("short-secret", "SESSION_SECRET must be at least 32 characters"),
])
def test_the_outreach_page_refuses_a_missing_or_weak_session_secret(secret, message, tmp_path, kafka_bootstrap):
    done = run_api("outreach", tmp_path, kafka_bootstrap, USERS_FILE=str(production_users(tmp_path / "u.yaml")),
                   SESSION_SECRET=secret)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("service", SERVICES)
def test_the_api_starts_in_production_with_its_own_users(service, tmp_path, kafka_topics):
    # The platform's topics exist (as `ccp up` or an operator creates them): the admissions API
    # reports healthy only once its alert stream tails alerts.hospitalist.
    port = free_port()
    proc = start_process(service, "api", {
        "ENVIRONMENT": "production", "USERS_FILE": str(production_users(tmp_path / "users.yaml")),
        "SESSION_SECRET": SESSION_SECRET, "VAR_DIR": str(tmp_path), "KAFKA_BOOTSTRAP": kafka_topics.kafka_bootstrap,
        "TOPIC_PREFIX": kafka_topics.topic_prefix,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}", "API_PORT": str(port)}, tmp_path, http_port=port)
    try:
        proc.wait_healthy(60)
    finally:
        proc.stop()


@pytest.mark.parametrize("key, message", [
    (None, "RISK_API_KEY must be set in production when RISK_API_URL is"),
    ("dev-service-outreach", "RISK_API_KEY is a development key"),
])
def test_the_outreach_page_refuses_to_read_risk_views_in_production_without_a_key_of_its_own(key, message, tmp_path,
                                                                                           kafka_bootstrap):
    done = run_api("outreach", tmp_path, kafka_bootstrap, USERS_FILE=str(production_users(tmp_path / "u.yaml")),
                   RISK_API_URL="http://127.0.0.1:9", RISK_API_KEY=key)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
