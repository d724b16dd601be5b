"""Least privilege on the broker: ``ccp up --secure``.

``python -m carectl up --secure`` (as a user runs it, on ports and a data directory of its own)
starts a broker with SASL (SCRAM-SHA-512) and the StandardAuthorizer, creates one user per
service with the ACLs the registry's writers and readers give it (shared/kafka_acls.py), and
starts every process as its own service's user. Then:

- the platform works through the ACLs alone: a roster through the intake API and an admission over
  MLLP become a hospitalist alert, every worker (each reading as its own user in its own group)
  catches up, and no process logged an authorization failure;
- for every service, a write as that service's user to each topic the registry says it writes is
  confirmed (and to one of its dead-letter topics), and a write
  to a topic it does not own is refused by the broker (TOPIC_AUTHORIZATION_FAILED), and a topic it
  does not read is refused to its consumer (not even its partitions are described); the operators' ``ops`` user may not write at all;
- a wrong password is refused.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError

from carectl.secure_kafka import service_settings
from shared.errors import DeliveryError
from shared.kafka import EventProducer, OutMessage
from shared.kafka_acls import OPS, services, writable_topics
from shared.topics import registry
from tests.reliability.private_cluster import port_block
from tests.support import infra
from tests.support.platform import pick_port_offset
from tests.support.procs import wait_for

REPO = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer dev-admin"}
HOSPITALIST = {"Authorization": "Bearer dev-hospitalist-hg-north"}

pytestmark = [pytest.mark.timeout(600), pytest.mark.skipif(
    not (infra.kafkactl().jars_present() and subprocess.run(["which", "java"], capture_output=True).returncode == 0),
    reason="needs the resolved Kafka jars and Java")]


class SecurePlatform:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = port_block(1)
        self.offset = pick_port_offset()
        self.prefix = infra.new_topic_prefix("sec", 8)
        self.kafka_dir = root / "kafka"
        self.env = dict(os.environ, KAFKA_PORT=str(self.port), KAFKA_CONTROLLER_PORT=str(self.port + 100),
                        KAFKA_DATA_DIR=str(self.kafka_dir), KAFKA_HEAP="320m", PORT_OFFSET=str(self.offset),
                        TOPIC_PREFIX=self.prefix, VAR_DIR=str(root / "var"), ENVIRONMENT="development",
                        PYTHONPATH=str(REPO), KAFKA_NODES="1")
        for name in ("KAFKA_BOOTSTRAP", "DATABASE_URL", "KAFKA_SECURE"):
            self.env.pop(name, None)
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port + self.offset}"

    def start(self) -> None:
        (self.root / "var").mkdir(parents=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "carectl", "up", "--secure", "--var-dir",
                                      str(self.root / "var")], env=self.env, cwd=REPO,
                                     stdout=open(self.root / "up.log", "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"ccp up --secure exited:\n{(self.root / 'up.log').read_text()[-4000:]}")
            try:
                return all(httpx.get(self.url(p) + "/healthz", timeout=1).status_code == 200
                           for p in (8010, 8011, 8012, 8020, 8021, 8030, 8031, 8040, 8041))
            except httpx.HTTPError:
                return False

        wait_for(healthy, 300, interval=1, what="every process healthy over SASL")

    def passwords(self) -> dict[str, str]:
        return json.loads((self.kafka_dir / "credentials.json").read_text())

    def settings(self, service: str, password: str | None = None):
        pw = password or self.passwords()[service]
        return service_settings(self.bootstrap, service, pw, self.prefix).model_copy(update={"producer_timeout_s": 6.0})

    def logs(self) -> dict[str, str]:
        return {p.name: p.read_text(errors="replace") for p in (self.root / "var" / "logs").glob("*.log")}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        env = dict(self.env, KAFKA_SECURE="1")
        subprocess.run([sys.executable, str(REPO / "deploy" / "kafka" / "kafkactl.py"), "stop"], env=env,
                       capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def secure_platform(tmp_path_factory):
    platform = SecurePlatform(tmp_path_factory.mktemp("secure"))
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()


def write(settings, topic: str) -> None:
    producer = EventProducer(settings, client_id=f"acl-test-{uuid.uuid4().hex[:6]}")
    try:
        producer.send_messages_sync([OutMessage(settings.topic(topic), b"{}", b"acl-test")])
    finally:
        producer.close(timeout=1)


def read_error(settings, topic: str) -> KafkaError | None:
    """The broker's answer when the service's consumer asks for ``topic``'s partitions to read them
    (None: it may); a topic the service may neither read nor describe is refused in Metadata."""
    consumer = Consumer({**settings.kafka_client_config(), "group.id": settings.group_id("acl-test"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(settings.topic(topic), timeout=15).topics[settings.topic(topic)]
        return meta.error
    finally:
        consumer.close()


def test_the_platform_runs_through_the_acls_each_service_as_its_own_user(secure_platform):
    member, mrn = "M-SEC-1", f"S{uuid.uuid4().hex[:6].upper()}"
    roster = ("member_id,given_name,family_name,birth_date,sex,mrns,pcp_practice_id,pcp_npi,hospitalist_group,pod,"
              "contract_id,program,risk_tier,eligibility_start,eligibility_end\n"
              f"{member},Ada,Example,1958-03-14,F,MERCY:{mrn},P001,1234567893,HG-NORTH,pod-east,MMO-2026,"
              "medicare-advantage,high,2026-01-01,\n")
    r = httpx.post(secure_platform.url(8090) + "/roster/files", params={"filename": "sec.csv"}, content=roster,
                   headers={**ADMIN, "content-type": "text/csv"}, timeout=60)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text[:500]
    from tests.e2e.test_platform_e2e import hl7, mllp_send

    msg = hl7("A01", f"SEC{uuid.uuid4().hex[:8]}", "20261103090000-0500", pv1_extra={}).replace(b"E2E100", mrn.encode())
    ack = mllp_send(2575 + secure_platform.offset, msg)
    assert b"MSA|AA" in ack, ack

    def alert():
        res = httpx.get(secure_platform.url(8010) + "/alerts", headers=HOSPITALIST, timeout=5)
        return res.status_code == 200 and any(a["member_id"] == member for a in res.json())

    wait_for(alert, 90, interval=1, what="the hospitalist alert, through the ACLs")
    # every worker caught up, and each service's derived events written under its own user
    from carectl.secure_kafka import admin_settings
    from tests.reliability.invariants import high_watermarks, quiesce

    admin = admin_settings(secure_platform.bootstrap, (secure_platform.kafka_dir / "admin.password").read_text(),
                           secure_platform.prefix)
    quiesce(admin, lambda s: f"{secure_platform.prefix}ccp-{s}-worker", timeout=180)
    for topic in ("members.roster", "adt.events", "alerts.hospitalist"):  # intake API, MLLP, admissions worker
        written = sum(hi for _, hi in high_watermarks(admin, admin.topic(topic)).values())
        assert written > 0, f"nothing on {topic}: its writer could not write under its ACLs"
    refused = {name: log for name, log in secure_platform.logs().items()
               if re.search(r"authorization[ _]failed|not authorized", log, re.I)}
    assert refused == {}, {k: v[-1500:] for k, v in refused.items()}


@pytest.mark.parametrize("service", services())
def test_each_service_may_write_its_own_topics_and_is_refused_anything_else(secure_platform, service):
    settings = secure_platform.settings(service)
    owned = sorted(t.name for t in registry().values() if service in t.writers)
    dlqs = sorted(t for t in writable_topics(service) if t.endswith(".dlq"))
    for topic in owned + dlqs[:1]:
        write(settings, topic)                                     # allowed: confirmed by the broker
    foreign = sorted(t for t in registry() if t not in writable_topics(service))
    assert foreign, service
    with pytest.raises(DeliveryError, match="Topic authorization failed"):
        write(settings, foreign[0])
    readable = {t.name for t in registry().values() if service in t.readers}
    not_read = sorted(t for t in registry() if t not in readable and not t.endswith(".dlq"))
    err = read_error(settings, not_read[0])
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, (service, not_read[0], err)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_ops_user_writes_nothing_and_a_wrong_password_is_refused(secure_platform):
    # ops may write no topic at all, so the broker already refuses its idempotent producer an id
    # (CLUSTER_AUTHORIZATION_FAILED, KIP-679) before any topic is named; librdkafka raises that
    # fatal error from poll(), which ends EventProducer's poll thread, so the write is reported
    # as not confirmed in time rather than with the broker's reason (noted in the issue 17 report)
    with pytest.raises(DeliveryError):
        write(secure_platform.settings(OPS), "adt.events")
    with pytest.raises(DeliveryError):
        write(secure_platform.settings("admissions", password="not-the-password"), "adt.events")
