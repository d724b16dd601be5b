"""A private three-node Kafka cluster (KRaft, every node broker + controller) for failover tests,
started by ``deploy/kafka/kafkactl.py`` from the same jars as ``ccp up --brokers 3``, on ports of
its own so the shared broker other tests use is never touched.

    cluster = PrivateCluster(tmp_path / "kafka", nodes=3)
    cluster.start()                       # returns when every node lists all three brokers
    cluster.leader("adt.events", 0)       # node id leading a partition
    cluster.controller()                  # node id of the active controller (the KRaft leader)
    cluster.kill(2); cluster.restart(2)   # SIGKILL a node; start it again (it catches up)
    cluster.stop()
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.procs import wait_for

REPO = Path(__file__).resolve().parents[2]
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_block(n: int) -> int:
    """A base port with ``base..base+n-1`` (clients) and ``base+100..`` (controllers) all free."""
    for _ in range(500):
        base = random.randrange(20000, 29000, 10)
        if all(_free(base + i) and _free(base + 100 + i) for i in range(n)):
            return base
    raise RuntimeError("no free block of ports for a private cluster")


class PrivateCluster:
    def __init__(self, data_dir: Path, *, nodes: int = 3, heap: str = "320m", secure: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.nodes = nodes
        self.heap = heap
        self.secure = secure
        self.port = port_block(nodes)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + i}" for i in range(self.nodes))

    def env(self) -> dict[str, str]:
        env = dict(os.environ, KAFKA_NODES=str(self.nodes), KAFKA_PORT=str(self.port),
                   KAFKA_CONTROLLER_PORT=str(self.port + 100), KAFKA_DATA_DIR=str(self.data_dir),
                   KAFKA_HEAP=self.heap, KAFKA_START_TIMEOUT="180", KAFKA_SECURE="1" if self.secure else "0")
        env.pop("KAFKA_BOOTSTRAP", None)
        return env

    def _ctl(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(KAFKACTL), *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> None:
        res = self._ctl("start")
        if res.returncode != 0:
            raise RuntimeError(f"private cluster did not start: {res.stderr[-3000:]}\n{self.log_tail(1)}")

    def restart(self, node: int) -> float:
        """Start a killed node again; returns the seconds until it answered."""
        t0 = time.monotonic()
        res = self._ctl("start-node", str(node))
        if res.returncode != 0:
            raise RuntimeError(f"node {node} did not start: {res.stderr[-3000:]}\n{self.log_tail(node)}")
        return time.monotonic() - t0

    def pid(self, node: int) -> int | None:
        try:
            pid = int((self.data_dir / f"node-{node}" / "kafka.pid").read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def kill(self, node: int) -> None:
        """SIGKILL one node and wait until its process is gone."""
        pid = self.pid(node)
        if pid is None:
            return
        os.kill(pid, 9)
        wait_for(lambda: self.pid(node) is None, 30, interval=0.05, what=f"node {node} gone")

    def stop(self) -> None:
        self._ctl("stop", timeout=120)

    def controller(self) -> int:
        res = self._ctl("quorum", timeout=120)
        return int(res.stdout.strip())

    # ------------------------------------------------------------------ partitions
    def _metadata(self, settings):
        from confluent_kafka.admin import AdminClient

        return AdminClient(settings.kafka_client_config()).list_topics(timeout=15)

    def leader(self, settings, topic: str, partition: int = 0) -> int:
        return self._metadata(settings).topics[topic].partitions[partition].leader

    def leaders(self, settings, topic: str) -> dict[int, int]:
        return {p: m.leader for p, m in self._metadata(settings).topics[topic].partitions.items()}

    def under_replicated(self, settings, prefix: str = "") -> list[tuple[str, int]]:
        """Partitions (of topics under ``prefix``) whose in-sync replicas are fewer than their replicas."""
        md = self._metadata(settings)
        return [(t, p) for t, tm in md.topics.items() if t.startswith(prefix)
                for p, pm in tm.partitions.items() if len(pm.isrs) < len(pm.replicas)]

    def replication_of(self, settings, topic: str) -> tuple[int, str]:
        """(replicas of partition 0, the topic's min.insync.replicas)."""
        from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

        admin = AdminClient(settings.kafka_client_config())
        md = admin.list_topics(topic, timeout=15).topics[topic]
        res = ConfigResource(ResourceType.TOPIC, topic)
        cfg = admin.describe_configs([res])[res].result(15)
        return len(md.partitions[0].replicas), cfg["min.insync.replicas"].value

    def log_tail(self, node: int, n: int = 3000) -> str:
        try:
            return (self.data_dir / f"node-{node}" / "server.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""
