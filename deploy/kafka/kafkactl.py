#!/usr/bin/env python3
"""Run one local Apache Kafka 4.x node (KRaft, broker + controller) without Docker.

    python deploy/kafka/kafkactl.py resolve   # Maven → deploy/kafka/lib (git-ignored)
    python deploy/kafka/kafkactl.py start     # resolve + format + start; returns when it answers Metadata
    python deploy/kafka/kafkactl.py stop
    python deploy/kafka/kafkactl.py status    # exit 0 when the broker answers, 1 otherwise
    python deploy/kafka/kafkactl.py perf-test # kafka-producer-perf-test from the resolved jars

Settings (environment): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_DATA_DIR
(<repo>/var/kafka), KAFKA_HEAP (768m), KAFKA_START_TIMEOUT (90 s), MVN (mvn), JAVA (java).
Logs: <data dir>/server.log. Standard library only, so it runs before any virtualenv exists.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB = HERE / "lib"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def settings() -> dict:
    data = Path(_env("KAFKA_DATA_DIR", str(REPO / "var" / "kafka"))).resolve()
    return {
        "port": int(_env("KAFKA_PORT", "9092")),
        "controller_port": int(_env("KAFKA_CONTROLLER_PORT", "9093")),
        "data": data,
        "heap": _env("KAFKA_HEAP", "768m"),
        "timeout": float(_env("KAFKA_START_TIMEOUT", "90")),
        "mvn": _env("MVN", "mvn"),
        "java": _env("JAVA", "java"),
    }


def log(msg: str) -> None:
    print(f"kafkactl: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- jars

def jars_present() -> bool:
    return LIB.is_dir() and any(LIB.glob("kafka_2.13-*.jar")) and any(LIB.glob("kafka-tools-*.jar"))


def resolve(force: bool = False) -> None:
    """Resolve the broker's jars with Maven (once; the local ~/.m2 cache makes reruns fast)."""
    stamp = LIB / ".pom-sha"
    pom = (HERE / "pom.xml").read_bytes()
    import hashlib

    want = hashlib.sha256(pom).hexdigest()
    if not force and jars_present() and stamp.exists() and stamp.read_text() == want:
        return
    s = settings()
    if shutil.which(s["mvn"]) is None:
        raise SystemExit("kafkactl: Maven (mvn) is required to resolve Kafka's jars; install it (apt-get install maven)")
    log(f"resolving Apache Kafka jars from Maven Central into {LIB} ...")
    if LIB.exists():
        shutil.rmtree(LIB)
    cmd = [s["mvn"], "-q", "-B", "-f", str(HERE / "pom.xml"), "dependency:copy-dependencies",
           f"-DoutputDirectory={LIB}", "-DincludeScope=runtime"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not jars_present():
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit("kafkactl: Maven could not resolve the Kafka jars (see above)")
    stamp.write_text(want)
    log(f"resolved {len(list(LIB.glob('*.jar')))} jars")


def classpath() -> str:
    return str(LIB / "*")


# --------------------------------------------------------------------------- config

def write_config(s: dict) -> Path:
    data: Path = s["data"]
    (data / "logs").mkdir(parents=True, exist_ok=True)
    props = data / "server.properties"
    props.write_text(
        "\n".join(
            [
                "# written by deploy/kafka/kafkactl.py; edit the settings, not this file",
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{s['controller_port']}",
                f"listeners=PLAINTEXT://127.0.0.1:{s['port']},CONTROLLER://127.0.0.1:{s['controller_port']}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{s['port']}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={data / 'logs'}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=6",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.check.interval.ms=300000",
                "log.segment.bytes=67108864",
                "num.network.threads=2",
                "num.io.threads=4",
                "",
            ]
        )
    )
    return props


def formatted(s: dict) -> bool:
    return (s["data"] / "logs" / "meta.properties").exists()


def format_storage(s: dict, props: Path, cluster_id: str | None = None) -> None:
    if formatted(s):
        return
    cluster_id = cluster_id or _cluster_id()
    log(f"formatting KRaft storage in {s['data'] / 'logs'} (cluster {cluster_id})")
    proc = subprocess.run(
        [s["java"], "-cp", classpath(), f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
         "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props), "--ignore-formatted"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit("kafkactl: formatting the storage failed")


def _cluster_id(random_bytes=None) -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding (22 characters).

    About one id in 64 would start with ``-``, which StorageTool's argument parser reads as an
    option ("argument --cluster-id/-t: expected one argument"). Kafka's own ``Uuid.randomUuid``
    draws again in that case; so do we. ``random_bytes`` (a callable returning 16 bytes) is for tests.
    """
    import base64

    draw = random_bytes or (lambda: uuid.uuid4().bytes)
    while True:
        cid = base64.urlsafe_b64encode(draw()).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


# --------------------------------------------------------------------------- liveness

def _metadata_request(port: int, timeout: float = 2.0) -> int:
    """Send a Kafka Metadata v4 request; return the number of brokers in the answer."""
    client_id = b"kafkactl"
    correlation = 7
    # request header v1: api_key, api_version, correlation_id, client_id (nullable string)
    header = struct.pack(">hhih", 3, 4, correlation, len(client_id)) + client_id
    body = struct.pack(">i?", -1, False)  # topics: null = all; allow_auto_topic_creation
    payload = header + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        size = struct.unpack(">i", _recv(sock, 4))[0]
        data = _recv(sock, size)
    got_corr, _throttle, n_brokers = struct.unpack(">iii", data[:12])
    if got_corr != correlation:
        raise OSError("unexpected correlation id")
    return n_brokers


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def answers(port: int) -> bool:
    try:
        return _metadata_request(port) >= 1
    except (OSError, struct.error):
        return False


def _pidfile(s: dict) -> Path:
    return s["data"] / "kafka.pid"


def _pid(s: dict) -> int | None:
    try:
        pid = int(_pidfile(s).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


# --------------------------------------------------------------------------- commands

def start() -> None:
    s = settings()
    if answers(s["port"]):
        log(f"broker already answering on 127.0.0.1:{s['port']}")
        return
    resolve()
    if shutil.which(s["java"]) is None:
        raise SystemExit("kafkactl: Java 17+ is required (apt-get install openjdk-17-jre-headless)")
    props = write_config(s)
    format_storage(s, props)
    logfile = s["data"] / "server.log"
    t0 = time.monotonic()
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(
            [s["java"], f"-Xms{s['heap']}", f"-Xmx{s['heap']}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
             "-cp", classpath(), "kafka.Kafka", str(props)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    _pidfile(s).write_text(str(proc.pid))
    deadline = t0 + s["timeout"]
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = logfile.read_text(errors="replace")[-3000:]
            sys.stderr.write(tail)
            raise SystemExit(f"kafkactl: broker exited with {proc.returncode} (log: {logfile})")
        if answers(s["port"]):
            log(f"broker up on 127.0.0.1:{s['port']} in {time.monotonic() - t0:.1f}s (pid {proc.pid}, log {logfile})")
            return
        time.sleep(0.2)
    raise SystemExit(f"kafkactl: broker did not answer within {s['timeout']:.0f}s (log: {logfile})")


def stop(timeout: float = 30.0) -> None:
    s = settings()
    pid = _pid(s)
    if pid is None:
        log("broker not running (no live pid file)")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        log("broker did not stop in time; killing it")
        os.kill(pid, signal.SIGKILL)
    _pidfile(s).unlink(missing_ok=True)
    log("broker stopped")


def kill() -> None:
    """SIGKILL the broker (fault tests)."""
    s = settings()
    pid = _pid(s)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)


def status() -> int:
    s = settings()
    up = answers(s["port"])
    pid = _pid(s)
    log(f"{'up' if up else 'down'} on 127.0.0.1:{s['port']} (pid {pid or '-'}, data {s['data']})")
    return 0 if up else 1


def perf_test(records: int = 200_000, size: int = 512, topic: str = "perf.ceiling") -> int:
    """Kafka's own producer perf test (acks=all, idempotent, lz4) as the raw ceiling."""
    s = settings()
    resolve()
    cmd = [s["java"], "-Xmx512m", "-cp", classpath(), f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
           "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(records),
           "--record-size", str(size), "--throughput", "-1", "--producer-props",
           f"bootstrap.servers=127.0.0.1:{s['port']}", "acks=all", "enable.idempotence=true",
           "compression.type=lz4", "linger.ms=5"]
    return subprocess.call(cmd)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "resolve":
        resolve(force="--force" in argv)
    elif cmd == "start":
        start()
    elif cmd == "stop":
        stop()
    elif cmd == "kill":
        kill()
    elif cmd == "status":
        return status()
    elif cmd == "restart":
        stop()
        start()
    elif cmd == "perf-test":
        return perf_test()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
