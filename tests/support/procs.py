"""Start the platform's processes the way a user does, and wait on them with deadlines."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path
    http_port: int | None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def healthy(self) -> bool:
        if self.http_port is None:
            return self.alive()
        try:
            return httpx.get(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float = 60.0) -> "Proc":
        def check():
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.log()[-4000:]}")
            return self.healthy()

        wait_for(check, timeout, what=f"{self.name} healthy")
        return self

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
            self.popen.wait(10)


def start_process(service: str, process: str, env: dict[str, str], tmp_path: Path, *, http_port: int | None,
                  module: str | None = None) -> Proc:
    """``python -m services.<service> <process>`` with ``env`` on top of the test's environment."""
    full_env = dict(os.environ)
    full_env.update({"ENVIRONMENT": "test", "PYTHONPATH": str(REPO), "LOG_LEVEL": "INFO"})
    full_env.update(env)
    name = f"{service}-{process}-{uuid.uuid4().hex[:6]}"
    log_path = tmp_path / f"{name}.log"
    argv = [sys.executable, "-m", module] if module else [sys.executable, "-m", f"services.{service}", process]
    popen = subprocess.Popen(argv, env=full_env, cwd=REPO, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    return Proc(name, popen, log_path, http_port)


def read_topic(settings, topic: str, expect: int, timeout: float = 30.0, settle: float = 1.5) -> list:
    """Read ``topic`` from the beginning until ``expect`` messages arrived (plus ``settle`` s for extras)."""
    from confluent_kafka import Consumer

    c = Consumer({**settings.kafka_client_config(), "group.id": f"reader-{uuid.uuid4()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(out) < expect:
            m = c.poll(0.3)
            if m is not None and not m.error():
                out.append(m)
        extra_deadline = time.monotonic() + settle
        while time.monotonic() < extra_deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                out.append(m)
    finally:
        c.close()
    return out
