"""Start the admissions processes as a user does (``python -m services.admissions <process>``)
against the test's fresh topics and database; small MLLP helpers over real sockets."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.procs import Proc, free_port, start_process

START, END = b"\x0b", b"\x1c\x0d"


@dataclass
class Admissions:
    settings: object
    pg_url: str
    tmp_path: Path
    procs: list[Proc] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {"KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap, "TOPIC_PREFIX": self.settings.topic_prefix,
               "DATABASE_URL": self.pg_url, "PUBLISH_TIMEOUT_S": "5"}
        env.update(extra)
        return env

    def start(self, process: str, **extra: str) -> tuple[Proc, dict[str, int]]:
        ports = {"MLLP_PORT": free_port(), "MLLP_METRICS_PORT": free_port(), "API_PORT": free_port(),
                 "WORKER_PORT": free_port()}
        http = {"mllp": "MLLP_METRICS_PORT", "worker": "WORKER_PORT", "api": "API_PORT"}[process]
        env = self.env(**{k: str(v) for k, v in ports.items()}, **extra)
        proc = start_process("admissions", process, env, self.tmp_path, http_port=ports[http])
        self.procs.append(proc)
        proc.wait_healthy(60)
        return proc, ports


@pytest.fixture
def admissions(kafka_topics, pg_url, tmp_path):
    a = Admissions(kafka_topics, pg_url, tmp_path)
    yield a
    for p in a.procs:
        p.stop()


class MllpConn:
    """A blocking MLLP connection: send raw bytes, read whole ACK frames."""

    def __init__(self, port: int, ctx: ssl.SSLContext | None = None, timeout: float = 15.0) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1") if ctx else sock
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def ack(self) -> str:
        while END not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the listener")
            self.buf += chunk
        frame, _, self.buf = self.buf.partition(END)
        return frame[frame.index(START) + 1:].decode()

    def roundtrip(self, message: bytes | str) -> str:
        self.send(START + (message.encode() if isinstance(message, str) else message) + END)
        return self.ack()

    def close(self) -> None:
        self.sock.close()


def msa(ack: str) -> list[str]:
    return next(s for s in ack.split("\r") if s.startswith("MSA")).split("|")


def err_code(ack: str) -> str:
    """Table 0357 code of the first ERR (v2.5 ERR-3.1)."""
    return next(s for s in ack.split("\r") if s.startswith("ERR")).split("|")[3].split("^")[0]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port}")
