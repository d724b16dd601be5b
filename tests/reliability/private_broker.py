"""A second single-node Kafka broker (KRaft) for fault tests: its own data directory and ports,
started from the jars ``deploy/kafka/kafkactl.py`` resolved, so killing it does not disturb the
shared broker other tests use. The platform is pointed at it with KAFKA_BOOTSTRAP.

    broker = PrivateBroker(tmp_path / "kafka")
    broker.start()            # returns when it answers Metadata
    broker.kill()             # SIGKILL, like a crash
    broker.start()            # recovers its log and comes back on the same ports
    broker.stop()
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.procs import free_port

REPO = Path(__file__).resolve().parents[2]
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"


class PrivateBroker:
    def __init__(self, data_dir: Path, *, heap: str = "384m") -> None:
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.controller_port = free_port()
        self.heap = heap
        self.kills = 0
        self.down_seconds = 0.0  # total time between a kill and the broker answering again
        self._killed_at: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, KAFKA_PORT=str(self.port), KAFKA_CONTROLLER_PORT=str(self.controller_port),
                   KAFKA_DATA_DIR=str(self.data_dir), KAFKA_HEAP=self.heap, KAFKA_START_TIMEOUT="150")
        env.pop("KAFKA_BOOTSTRAP", None)
        return env

    def _ctl(self, command: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(KAFKACTL), command], env=self._env(), capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> None:
        res = self._ctl("start")
        if res.returncode != 0:
            raise RuntimeError(f"private broker did not start: {res.stderr[-3000:]}\n{self.log_tail()}")
        if self._killed_at is not None:
            self.down_seconds += time.monotonic() - self._killed_at
            self._killed_at = None

    def pid(self) -> int | None:
        try:
            pid = int((self.data_dir / "kafka.pid").read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def alive(self) -> bool:
        return self.pid() is not None

    def kill(self) -> None:
        """SIGKILL the broker and wait until the process is gone."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        self.kills += 1
        self._killed_at = time.monotonic()

    def stop(self) -> None:
        if self.alive():
            self._ctl("stop", timeout=60)

    def log_tail(self, n: int = 3000) -> str:
        try:
            return (self.data_dir / "server.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""
