"""The whole platform as the README starts it (``python -m carectl up``), isolated for a test:
its own topic prefix, its own var dir (SQLite files, logs), its ports shifted by PORT_OFFSET."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.procs import wait_for
from tests.support.infra import new_topic_prefix

REPO = Path(__file__).resolve().parents[2]
HTTP_PORTS = (8010, 8011, 8012, 8020, 8021, 8030, 8031, 8040, 8041, 8080, 8081, 8090)
ALL_PORTS = (2575, *HTTP_PORTS, 8050)


def ports_free(offset: int) -> bool:
    for port in ALL_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + offset))
            except OSError:
                return False
    return True


def pick_port_offset() -> int:
    """A PORT_OFFSET at which every platform port is free (a side-by-side platform)."""
    return next(o for o in (random.randrange(1000, 20000, 100) for _ in range(200)) if ports_free(o))


@dataclass
class Platform:
    proc: subprocess.Popen
    offset: int
    var_dir: Path
    prefix: str
    env: dict[str, str]

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port + self.offset}"

    @property
    def mllp_port(self) -> int:
        return 2575 + self.offset

    def metrics_text(self) -> dict[int, str]:
        out = {}
        for port in (*HTTP_PORTS, 8050):
            try:
                out[port] = httpx.get(self.url(port) + "/metrics", timeout=5).text
            except httpx.HTTPError:
                out[port] = ""
        return out

    def logs(self) -> dict[str, str]:
        return {p.name: p.read_text(errors="replace") for p in sorted((self.var_dir / "logs").glob("*.log"))}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def start_platform(kafka_bootstrap: str, var_dir: Path, *, log_level: str = "INFO",
                   database_url: str | None = None, extra_env: dict[str, str] | None = None,
                   timeout: float = 240) -> Platform:
    offset = pick_port_offset()
    prefix = new_topic_prefix("e2e", 8)
    env = dict(os.environ, KAFKA_BOOTSTRAP=kafka_bootstrap, TOPIC_PREFIX=prefix, PORT_OFFSET=str(offset),
               VAR_DIR=str(var_dir), ENVIRONMENT="development", PYTHONPATH=str(REPO), LOG_LEVEL=log_level)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra_env or {})
    log = open(var_dir / "up.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "carectl", "up", "--var-dir", str(var_dir)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    platform = Platform(proc, offset, var_dir, prefix, env)

    def all_healthy():
        if proc.poll() is not None:
            raise AssertionError(f"ccp up exited:\n{(var_dir / 'up.log').read_text()[-4000:]}")
        try:
            return all(httpx.get(platform.url(p) + "/healthz", timeout=1).status_code == 200 for p in HTTP_PORTS)
        except httpx.HTTPError:
            return False

    try:
        wait_for(all_healthy, timeout=timeout, interval=1, what="every process healthy")
    except BaseException:
        platform.stop()
        raise
    return platform
