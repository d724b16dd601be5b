"""Kafka over SASL_SSL (SCRAM-SHA-512 on TLS), end to end with the platform's own clients.

The test makes a CA and a broker certificate (openssl), formats a second, separate KRaft
node from the resolved jars (deploy/kafka/lib) with a SCRAM user, and starts it with a
SASL_SSL listener (PEM keystore) beside a PLAINTEXT one for the node's own traffic. Then:

- ``EventProducer`` and the admin client (``ensure_topics``) with ``KAFKA_SECURITY_PROTOCOL=
  SASL_SSL`` and the right credentials write and read back over TLS;
- the wrong password is refused: ``DeliveryError`` within the producer timeout, not a hang;
- a faust worker built from shared/ (``tests/support/probe_worker.py``, aiokafka through
  ``faust_broker_options``) consumes over SASL_SSL and applies an event exactly once (the
  same event sent twice leaves one row and one derived event).

The node is stopped at the end. Bounded: the broker answers in ~10 s, the whole module runs
in well under 90 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shared.errors import DeliveryError
from shared.events import AlertRetractedV1, EligibilitySpan, MemberRosterV1
from shared.kafka import EventProducer
from shared.kafka_admin import ensure_topics
from shared.settings import CommonSettings
from shared.topics import ROSTER, all_topics
from tests.support import infra
from tests.support.procs import free_port, read_topic, start_process, wait_for
from tests.support.infra import new_topic_prefix

USER, PASSWORD = "ccp-test", "s3cret-" + uuid.uuid4().hex[:12]
MECHANISM = "SCRAM-SHA-512"

pytestmark = pytest.mark.skipif(
    not (infra.kafkactl().jars_present() and subprocess.run(["which", "java"], capture_output=True).returncode == 0
         and subprocess.run(["which", "openssl"], capture_output=True).returncode == 0),
    reason="needs the resolved Kafka jars (python deploy/kafka/kafkactl.py resolve), Java and openssl")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(d: Path) -> dict[str, Path]:
    """A CA, and a broker certificate for 127.0.0.1 signed by it (RSA 2048, one day)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
             "-subj", "/CN=ccp test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
             "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "broker.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                                  "keyUsage=critical,digitalSignature,keyEncipherment\n")
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "broker.pem", "-days", "1", "-extfile", "broker.ext", cwd=d)
    # Kafka's PEM keystore: the (unencrypted PKCS#8) private key and the certificate chain in one file
    keystore = d / "broker-keystore.pem"
    keystore.write_text((d / "broker.key").read_text() + (d / "broker.pem").read_text() + (d / "ca.pem").read_text())
    return {"ca": d / "ca.pem", "keystore": keystore}


def distinct_ports(n: int) -> list[int]:
    """``n`` free loopback ports, all different (held open together while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sk in socks:
            sk.bind(("127.0.0.1", 0))
        return [sk.getsockname()[1] for sk in socks]
    finally:
        for sk in socks:
            sk.close()


class SecureBroker:
    def __init__(self, root: Path, certs: dict[str, Path]) -> None:
        self.ctl = infra.kafkactl()
        self.data = root / "kafka"
        (self.data / "logs").mkdir(parents=True)
        self.port, self.internal_port, self.controller_port = distinct_ports(3)
        self.certs = certs
        self.proc: subprocess.Popen | None = None
        self.log = self.data / "server.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        props = self.data / "server.properties"
        props.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=SASL_SSL://127.0.0.1:{self.port},INTERNAL://127.0.0.1:{self.internal_port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{self.port},INTERNAL://127.0.0.1:{self.internal_port}",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=INTERNAL",
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.certs['keystore']}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.certs['ca']}",
            "ssl.client.auth=none",
            f"log.dirs={self.data / 'logs'}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=2",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "num.network.threads=2",
            "num.io.threads=2",
            "",
        ]))
        return props

    def start(self, timeout: float = 60.0) -> None:
        java = os.environ.get("JAVA", "java")
        log4j = f"-Dlog4j2.configurationFile={self.ctl.HERE / 'log4j2.yaml'}"
        props = self.write_config()
        fmt = subprocess.run(
            [java, "-cp", self.ctl.classpath(), log4j, "kafka.tools.StorageTool", "format",
             f"--cluster-id={self.ctl._cluster_id()}", "-c", str(props), "--add-scram",
             f"{MECHANISM}=[name={USER},password={PASSWORD}]"],
            capture_output=True, text=True, timeout=120)
        assert fmt.returncode == 0, fmt.stdout[-2000:] + fmt.stderr[-2000:]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [java, "-Xms256m", "-Xmx384m", "-XX:+UseSerialGC", "-Djava.awt.headless=true", log4j,
                 "-cp", self.ctl.classpath(), "kafka.Kafka", str(props)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the SASL_SSL broker exited:\n{self.log.read_text(errors='replace')[-3000:]}")
            return self.ctl.answers(self.internal_port)

        wait_for(up, timeout, interval=0.3, what="the SASL_SSL broker")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("sasl-ssl")
    broker = SecureBroker(root, make_certificates(root))
    broker.start()
    yield broker
    broker.stop()


def sasl_settings(broker: SecureBroker, prefix: str, password: str = PASSWORD, **extra) -> CommonSettings:
    return CommonSettings(kafka_bootstrap=broker.bootstrap, kafka_security_protocol="SASL_SSL",
                          kafka_sasl_mechanism=MECHANISM, kafka_sasl_username=USER, kafka_sasl_password=password,
                          kafka_ssl_cafile=str(broker.certs["ca"]), topic_prefix=prefix, environment="test", **extra)


@pytest.fixture(scope="module")
def secure_topics(secure_broker):
    settings = sasl_settings(secure_broker, new_topic_prefix("s", 8))
    created = ensure_topics(settings, [replace(s, partitions=1) for s in all_topics()])  # the admin client, over TLS
    assert settings.topic(ROSTER) in created
    return settings


def roster_event(member_id: str, event_id: uuid.UUID | None = None) -> MemberRosterV1:
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    return MemberRosterV1(
        **MemberRosterV1.envelope(occurred_at=at, source="sasl-test", member_id=member_id,
                                  event_id=event_id or uuid.uuid4()),
        given_name="Ada", family_name="Example", birth_date=date(1958, 3, 14), sex="F", pcp_practice_id="P001",
        contract_id="MMO-2026", eligibility=(EligibilitySpan(start=date(2026, 1, 1)),))


def test_the_producer_writes_over_sasl_ssl_with_the_right_credentials(secure_topics):
    assert secure_topics.kafka_client_config()["security.protocol"] == "SASL_SSL"
    producer = EventProducer(secure_topics, client_id="sasl-test")
    try:
        (delivery,) = producer.send_sync([roster_event("M-SASL-1")])
    finally:
        producer.close()
    assert delivery.topic == secure_topics.topic(ROSTER) and delivery.offset >= 0
    got = read_topic(secure_topics, secure_topics.topic(ROSTER), expect=1, timeout=20, settle=0.5)
    assert any(m.key() == b"M-SASL-1" for m in got)


def test_a_wrong_password_is_refused_with_a_delivery_error_not_a_hang(secure_topics, secure_broker):
    wrong = sasl_settings(secure_broker, secure_topics.topic_prefix, password="not-the-password",
                          producer_timeout_s=5.0)
    producer = EventProducer(wrong, client_id="sasl-wrong")
    started = time.monotonic()
    try:
        with pytest.raises(DeliveryError) as refused:
            producer.send_sync([roster_event("M-SASL-WRONG")])
    finally:
        producer.close(timeout=1)
    assert time.monotonic() - started < 15
    print(f"\nwrong password refused in {time.monotonic() - started:.1f}s: {refused.value}")


def test_a_faust_worker_consumes_over_sasl_ssl_and_applies_an_event_once(secure_topics, secure_broker, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'probe.db'}"
    port = free_port()
    env = {"KAFKA_BOOTSTRAP": secure_broker.bootstrap, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
           "KAFKA_SASL_MECHANISM": MECHANISM, "KAFKA_SASL_USERNAME": USER, "KAFKA_SASL_PASSWORD": PASSWORD,
           "KAFKA_SSL_CAFILE": str(secure_broker.certs["ca"]), "TOPIC_PREFIX": secure_topics.topic_prefix,
           "DATABASE_URL": db_url, "WEB_PORT": str(port), "VAR_DIR": str(tmp_path)}
    worker = start_process("probe", "worker", env, tmp_path, http_port=port, module="tests.support.probe_worker")
    producer = EventProducer(secure_topics, client_id="sasl-feed")
    engine = create_engine(db_url)
    try:
        worker.wait_healthy(45)
        member = f"M-{uuid.uuid4().hex[:8]}"
        first = roster_event(member)
        producer.send_sync([first, first])                 # the same event twice (a redelivery)
        producer.send_sync([roster_event(member)])         # then a later one on the same partition

        def applied() -> int:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM seen WHERE member_id = :m"), {"m": member}).scalar()

        wait_for(lambda: applied() == 2, 40, what="the worker applied both distinct events over SASL_SSL")
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT event_id FROM seen WHERE member_id = :m"), {"m": member})]
        assert ids.count(str(first.event_id)) == 1
        derived = read_topic(secure_topics, secure_topics.topic(AlertRetractedV1.TOPIC), expect=2, timeout=20)
        assert len([m for m in derived if m.key() == member.encode()]) == 2  # one derived event per applied event
        assert worker.alive(), worker.log()[-3000:]
    finally:
        producer.close()
        worker.stop()
        engine.dispose()
