#!/usr/bin/env python3
"""Run local Apache Kafka 4.x (KRaft) without Docker: one node, or a cluster of N nodes.

    python deploy/kafka/kafkactl.py resolve   # Maven → deploy/kafka/lib (git-ignored)
    python deploy/kafka/kafkactl.py start     # resolve + format + start; returns when it answers Metadata
    python deploy/kafka/kafkactl.py stop
    python deploy/kafka/kafkactl.py status    # exit 0 when the broker(s) answer, 1 otherwise
    python deploy/kafka/kafkactl.py perf-test # kafka-producer-perf-test from the resolved jars
    python deploy/kafka/kafkactl.py start --nodes 3        # a three-node cluster (or KAFKA_NODES=3)
    python deploy/kafka/kafkactl.py kill-node 2 --nodes 3  # SIGKILL one node (fault tests)
    python deploy/kafka/kafkactl.py start-node 2 --nodes 3
    python deploy/kafka/kafkactl.py quorum --nodes 3       # the active controller (KRaft leader)

Settings (environment): KAFKA_NODES (1), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093; with
several nodes KAFKA_PORT+100), KAFKA_DATA_DIR (<repo>/var/kafka; with several nodes
<repo>/var/kafka-<N>), KAFKA_HEAP (768m; 512m per node in a cluster), KAFKA_START_TIMEOUT (90 s),
MVN (mvn), JAVA (java). Logs: <data dir>/server.log (a cluster: <data dir>/node-<i>/server.log).

A cluster runs every node as broker *and* controller ("combined" mode) from the same jars on
127.0.0.1: node i listens on KAFKA_PORT+i-1 (clients) and KAFKA_CONTROLLER_PORT+i-1 (the KRaft
quorum). Three voters tolerate the loss of one node; three JVMs rather than six (separate
controllers) is what a 2-core machine carries. Internal topics get replication factor 3 and
min.insync.replicas 2, as the registry's production values (shared/contract/topics.yaml); the
Kubernetes manifests (deploy/k8s) run dedicated controller and broker pools instead.
Standard library only, so it runs before any virtualenv exists.
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
    nodes = int(_env("KAFKA_NODES", "1"))
    if nodes < 1:
        raise SystemExit("kafkactl: KAFKA_NODES must be at least 1")
    port = int(_env("KAFKA_PORT", "9092"))
    secure = _env("KAFKA_SECURE", "0").lower() in ("1", "true", "yes")
    default_dir = REPO / "var" / ("kafka" + ("-secure" if secure else "") + ("" if nodes == 1 else f"-{nodes}"))
    data = Path(_env("KAFKA_DATA_DIR", str(default_dir))).resolve()
    return {
        "nodes": nodes,
        "secure": secure,
        "port": port,
        "controller_port": int(_env("KAFKA_CONTROLLER_PORT", str(port + 1 if nodes == 1 else port + 100))),
        "data": data,
        "heap": _env("KAFKA_HEAP", "768m" if nodes == 1 else "512m"),
        "timeout": float(_env("KAFKA_START_TIMEOUT", "90")),
        "mvn": _env("MVN", "mvn"),
        "java": _env("JAVA", "java"),
    }


def node(s: dict, i: int) -> dict:
    """Node ``i`` (1-based) of the configured cluster: its id, ports and data directory.

    A single node keeps the original layout (<data>/logs, <data>/kafka.pid, <data>/server.log)."""
    if not 1 <= i <= s["nodes"]:
        raise SystemExit(f"kafkactl: no node {i} in a cluster of {s['nodes']}")
    return {
        "id": i,
        "port": s["port"] + i - 1,
        "controller_port": s["controller_port"] + i - 1,
        "data": s["data"] if s["nodes"] == 1 else s["data"] / f"node-{i}",
    }


def nodes(s: dict) -> list[dict]:
    return [node(s, i) for i in range(1, s["nodes"] + 1)]


def bootstrap(s: dict | None = None) -> str:
    """The bootstrap servers of the configured broker or cluster (every node)."""
    s = s or settings()
    return ",".join(f"127.0.0.1:{n['port']}" for n in nodes(s))


def replication(s: dict) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for the broker's internal topics and defaults:
    3 and 2 from three nodes up (one node may be lost without refusing acks=all writes), else
    every node and one."""
    rf = min(3, s["nodes"])
    return rf, (2 if rf >= 3 else 1)


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

def config_lines(s: dict, n: dict) -> list[str]:
    """server.properties of node ``n`` (PLAINTEXT). ``--secure`` (deploy/kafka/secure.py) adds
    its SASL listener and authorizer lines to these."""
    data: Path = n["data"]
    rf, min_isr = replication(s)
    voters = ",".join(f"{m['id']}@127.0.0.1:{m['controller_port']}" for m in nodes(s))
    return [
        "# written by deploy/kafka/kafkactl.py; edit the settings, not this file",
        "process.roles=broker,controller",
        f"node.id={n['id']}",
        f"controller.quorum.voters={voters}",
        f"listeners=PLAINTEXT://127.0.0.1:{n['port']},CONTROLLER://127.0.0.1:{n['controller_port']}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{n['port']}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data / 'logs'}",
        "num.partitions=1",
        f"default.replication.factor={rf}",
        f"min.insync.replicas={min_isr}",
        f"offsets.topic.replication.factor={rf}",
        "offsets.topic.num.partitions=6",
        f"transaction.state.log.replication.factor={rf}",
        f"transaction.state.log.min.isr={min_isr}",
        f"share.coordinator.state.topic.replication.factor={rf}",
        f"share.coordinator.state.topic.min.isr={min_isr}",
        "unclean.leader.election.enable=false",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=true",
        "log.retention.check.interval.ms=300000",
        "log.segment.bytes=67108864",
        "num.network.threads=2",
        "num.io.threads=4",
    ]


ADMIN_USER = "admin"
SASL_MECHANISM = "SCRAM-SHA-512"


def admin_password(s: dict) -> str:
    """The secure broker's super user's password, made once and kept beside its data (0600)."""
    import secrets

    path = s["data"] / "admin.password"
    if path.exists():
        return path.read_text().strip()
    s["data"].mkdir(parents=True, exist_ok=True)
    pw = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(pw)
    return pw


def secure_lines(s: dict, n: dict) -> list[str]:
    """KAFKA_SECURE=1 (``ccp up --secure``): clients authenticate with SCRAM-SHA-512 over
    SASL_PLAINTEXT on loopback, the brokers among themselves as the super user ``admin`` (SCRAM,
    bootstrapped into the storage at format time), the controller listener with PLAIN (KRaft
    controllers cannot read SCRAM credentials from the log they are electing a leader for); the
    StandardAuthorizer refuses whatever no ACL allows. Users and ACLs per service:
    carectl/secure_kafka.py, from the registry's writers and readers."""
    pw = admin_password(s)
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    return [
        f"listeners=SASL_PLAINTEXT://127.0.0.1:{n['port']},CONTROLLER://127.0.0.1:{n['controller_port']}",
        f"advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{n['port']}",
        "inter.broker.listener.name=SASL_PLAINTEXT",
        "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        f"sasl.enabled.mechanisms={SASL_MECHANISM}",
        f"sasl.mechanism.inter.broker.protocol={SASL_MECHANISM}",
        f'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={scram} required '
        f'username="{ADMIN_USER}" password="{pw}";',
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        "sasl.mechanism.controller.protocol=PLAIN",
        f'listener.name.controller.plain.sasl.jaas.config={plain} required username="{ADMIN_USER}" '
        f'password="{pw}" user_{ADMIN_USER}="{pw}";',
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        f"super.users=User:{ADMIN_USER}",
        "allow.everyone.if.no.acl.found=false",
    ]


def write_config(s: dict, n: dict | None = None, extra: list[str] | None = None) -> Path:
    n = n or node(s, 1)
    lines = config_lines(s, n)
    if s.get("secure"):
        replaced = {line.split("=", 1)[0] for line in secure_lines(s, n)}
        lines = [line for line in lines if line.split("=", 1)[0] not in replaced] + secure_lines(s, n)
    data: Path = n["data"]
    (data / "logs").mkdir(parents=True, exist_ok=True)
    props = data / "server.properties"
    props.write_text("\n".join([*lines, *(extra or []), ""]))
    return props


def formatted(s: dict, n: dict | None = None) -> bool:
    n = n or node(s, 1)
    return (n["data"] / "logs" / "meta.properties").exists()


def cluster_id_for(s: dict) -> str:
    """One id for every node of a cluster, kept beside the nodes' directories."""
    if s["nodes"] == 1:
        return _cluster_id()
    path = s["data"] / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    s["data"].mkdir(parents=True, exist_ok=True)
    cid = _cluster_id()
    path.write_text(cid)
    return cid


def format_storage(s: dict, props: Path, cluster_id: str | None = None, n: dict | None = None,
                   extra_args: list[str] | None = None) -> None:
    n = n or node(s, 1)
    if formatted(s, n):
        return
    cluster_id = cluster_id or cluster_id_for(s)
    if s.get("secure"):
        extra_args = [*(extra_args or []), "--add-scram", f"{SASL_MECHANISM}=[name={ADMIN_USER},password={admin_password(s)}]"]
    log(f"formatting KRaft storage in {n['data'] / 'logs'} (cluster {cluster_id})")
    proc = subprocess.run(
        [s["java"], "-cp", classpath(), f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
         "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(props), "--ignore-formatted",
         *(extra_args or [])],
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


def _pidfile(n: dict) -> Path:
    return n["data"] / "kafka.pid"


def _pid(n: dict) -> int | None:
    """The live pid of node ``n`` (a node dict, or the settings of a single broker)."""
    try:
        pid = int(_pidfile(n).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def brokers_answering(port: int) -> int:
    """Brokers in the Metadata answer of the node on ``port`` (0 when it does not answer)."""
    try:
        return _metadata_request(port)
    except (OSError, struct.error):
        return 0


def api_versions_answered(port: int, timeout: float = 2.0) -> bool:
    """An ApiVersions v0 request answered: what a SASL listener serves before authentication."""
    header = struct.pack(">hhih", 18, 0, 9, 8) + b"kafkactl"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(header)) + header)
            size = struct.unpack(">i", _recv(sock, 4))[0]
            data = _recv(sock, size)
        return struct.unpack(">ih", data[:6]) == (9, 0)
    except (OSError, struct.error):
        return False


def node_ready(s: dict, n: dict) -> bool:
    """Node ``n`` answers: Metadata listing the whole cluster (a secure node: ApiVersions, as its
    listener wants SASL first; carectl then waits for the full Metadata as the admin user)."""
    if s.get("secure"):
        return api_versions_answered(n["port"])
    return brokers_answering(n["port"]) == s["nodes"]


# --------------------------------------------------------------------------- commands

def _java_cmd(s: dict, props: Path) -> list[str]:
    return [s["java"], f"-Xms{s['heap']}", f"-Xmx{s['heap']}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
            "-cp", classpath(), "kafka.Kafka", str(props)]


def _prepare() -> dict:
    s = settings()
    resolve()
    if shutil.which(s["java"]) is None:
        raise SystemExit("kafkactl: Java 17+ is required (apt-get install openjdk-17-jre-headless)")
    return s


def launch(s: dict, n: dict, extra_config: list[str] | None = None,
           format_args: list[str] | None = None) -> subprocess.Popen:
    """Write the node's config, format its storage once, start its JVM; returns at once."""
    props = write_config(s, n, extra_config)
    format_storage(s, props, n=n, extra_args=format_args)
    logfile = n["data"] / "server.log"
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(_java_cmd(s, props), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _pidfile(n).write_text(str(proc.pid))
    return proc


def _wait(s: dict, procs: dict[int, subprocess.Popen], ready, what: str, t0: float) -> None:
    deadline = t0 + s["timeout"]
    while time.monotonic() < deadline:
        for i, proc in procs.items():
            if proc.poll() is not None:
                logfile = node(s, i)["data"] / "server.log"
                sys.stderr.write(logfile.read_text(errors="replace")[-3000:])
                raise SystemExit(f"kafkactl: node {i} exited with {proc.returncode} (log: {logfile})")
        if ready():
            return
        time.sleep(0.2)
    raise SystemExit(f"kafkactl: {what} did not answer within {s['timeout']:.0f}s (logs under {s['data']})")


def start(extra_config: list[str] | None = None, format_args: list[str] | None = None) -> None:
    """Start the broker (or every node of the cluster that is not running); return when every
    node answers Metadata listing all of them."""
    s = settings()
    want = s["nodes"]
    if all(node_ready(s, n) for n in nodes(s)):
        log(f"{'broker' if want == 1 else f'{want}-node cluster'} already answering on {bootstrap(s)}")
        return
    if want > 1:
        stray = [n["port"] for n in nodes(s) if _pid(n) is None and api_versions_answered(n["port"])]
        if stray:
            raise SystemExit(f"kafkactl: another broker answers on 127.0.0.1:{stray[0]} (not a node of this "
                             f"cluster); stop it (./ccp kafka stop) or choose other ports with KAFKA_PORT")
    s = _prepare()
    t0 = time.monotonic()
    procs = {}
    for n in nodes(s):
        if _pid(n) is None:
            procs[n["id"]] = launch(s, n, extra_config, format_args)
    _wait(s, procs, lambda: all(node_ready(s, n) for n in nodes(s)),
          "the broker" if want == 1 else f"the {want}-node cluster", t0)
    pids = ", ".join(str(p.pid) for p in procs.values())
    log(f"{'broker' if want == 1 else f'{want}-node cluster'} up on {bootstrap(s)} in "
        f"{time.monotonic() - t0:.1f}s (pid {pids}, log {s['data']})")


def start_node(i: int, extra_config: list[str] | None = None) -> None:
    """(Re)start one node of the cluster; return when it is back in the cluster's Metadata."""
    s = _prepare()
    n = node(s, i)
    if _pid(n) is not None and api_versions_answered(n["port"]):
        return
    t0 = time.monotonic()
    proc = launch(s, n, extra_config)
    _wait(s, {i: proc}, lambda: (api_versions_answered(n["port"]) if s["secure"] else brokers_answering(n["port"]) >= 1),
          f"node {i}", t0)
    log(f"node {i} up on 127.0.0.1:{n['port']} in {time.monotonic() - t0:.1f}s (pid {proc.pid})")


def _terminate(pid: int, timeout: float) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.2)
    log(f"pid {pid} did not stop in time; killing it")
    os.kill(pid, signal.SIGKILL)


def stop(timeout: float = 30.0) -> None:
    s = settings()
    running = [(n, pid) for n in nodes(s) if (pid := _pid(n)) is not None]
    if not running:
        log("broker not running (no live pid file)")
        return
    # every node at once: a node stopping alone waits for the others to take its partitions over
    for _, pid in running:
        os.kill(pid, signal.SIGTERM)
    for n, pid in running:
        try:
            os.kill(pid, 0)
            _terminate(pid, timeout)
        except OSError:
            pass
        _pidfile(n).unlink(missing_ok=True)
    log("broker stopped" if s["nodes"] == 1 else f"{len(running)} node(s) stopped")


def kill(i: int | None = None) -> None:
    """SIGKILL the broker, or node ``i`` of the cluster (fault tests)."""
    s = settings()
    for n in nodes(s) if i is None else [node(s, i)]:
        pid = _pid(n)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


def quorum_leader(timeout: float = 60.0) -> int | None:
    """The node id of the active controller (the KRaft quorum's leader), asked of any live node with
    Kafka's own MetadataQuorumCommand; None when no node answers."""
    s = settings()
    for n in nodes(s):
        if _pid(n) is None:
            continue
        proc = subprocess.run(
            [s["java"], "-Xmx128m", "-cp", classpath(), f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
             "org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-controller",
             f"127.0.0.1:{n['controller_port']}", "describe", "--status"],
            capture_output=True, text=True, timeout=timeout)
        for line in proc.stdout.splitlines():
            if line.strip().startswith("LeaderId:"):
                return int(line.split(":", 1)[1].strip())
    return None


def status() -> int:
    s = settings()
    up = 0
    for n in nodes(s):
        seen = int(api_versions_answered(n["port"])) if s["secure"] else brokers_answering(n["port"])
        up += seen >= 1
        label = "broker" if s["nodes"] == 1 else f"node {n['id']}"
        log(f"{label}: {'up' if seen else 'down'} on 127.0.0.1:{n['port']} (pid {_pid(n) or '-'}, "
            f"data {n['data']}{f', sees {seen} broker(s)' if s['nodes'] > 1 and seen else ''})")
    return 0 if up == s["nodes"] else 1


def perf_test(records: int = 200_000, size: int = 512, topic: str = "perf.ceiling") -> int:
    """Kafka's own producer perf test (acks=all, idempotent, lz4) as the raw ceiling."""
    s = settings()
    resolve()
    cmd = [s["java"], "-Xmx512m", "-cp", classpath(), f"-Dlog4j2.configurationFile={HERE / 'log4j2.yaml'}",
           "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(records),
           "--record-size", str(size), "--throughput", "-1", "--producer-props",
           f"bootstrap.servers={bootstrap(s)}", "acks=all", "enable.idempotence=true",
           "compression.type=lz4", "linger.ms=5"]
    return subprocess.call(cmd)


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    if "--nodes" in args:
        i = args.index("--nodes")
        os.environ["KAFKA_NODES"] = args[i + 1]
        del args[i:i + 2]
    cmd = args[0] if args else "status"
    if cmd == "resolve":
        resolve(force="--force" in args)
    elif cmd == "start":
        start()
    elif cmd == "stop":
        stop()
    elif cmd == "kill":
        kill()
    elif cmd in ("kill-node", "start-node"):
        if len(args) < 2 or not args[1].isdigit():
            print(f"usage: kafkactl.py {cmd} N [--nodes K]", file=sys.stderr)
            return 2
        (kill if cmd == "kill-node" else start_node)(int(args[1]))
    elif cmd == "quorum":
        leader = quorum_leader()
        print(leader if leader is not None else "-")
        return 0 if leader is not None else 1
    elif cmd == "bootstrap":
        print(bootstrap())
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
