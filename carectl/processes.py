"""The platform's processes, their ports and how to start, watch and stop them.

Every service runs as separate processes from one code base (``python -m services.<name>
<process>``). The supervisor here starts them with their environment, writes each one's log to
``var/logs/<service>-<process>.log``, restarts a process that dies (a worker that cannot make
progress exits on purpose, without committing, and is restarted), and stops all of them on
Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ProcSpec:
    service: str
    process: str
    http_port: int  # /healthz and /metrics
    extra_env: dict[str, str] = field(default_factory=dict)
    module: str = ""  # default: services.<service> <process>
    health_path: str = "/healthz"
    links: tuple[tuple[str, int], ...] = ()  # (setting, port): another process's URL, http://127.0.0.1:<port>

    def port_env(self, offset: int) -> dict[str, str]:
        """The port settings of this process, shifted by ``offset`` (PORT_OFFSET)."""
        if self.module:
            return {"LAG_EXPORTER_PORT": str(self.http_port + offset)}
        if self.process == "mllp":
            return {"MLLP_PORT": str(2575 + offset), "MLLP_METRICS_PORT": str(self.http_port + offset)}
        links = {name: f"http://127.0.0.1:{port + offset}" for name, port in self.links}
        return {f"{self.process.upper()}_PORT": str(self.http_port + offset), **links}

    def argv(self) -> list[str]:
        return ["-m", self.module] if self.module else ["-m", f"services.{self.service}", self.process]

    @property
    def name(self) -> str:
        return f"{self.service}-{self.process}"


# The port plan (also in README "Configuration" and deploy/prometheus/prometheus.yml).
PROCESSES: tuple[ProcSpec, ...] = (
    ProcSpec("admissions", "mllp", 8012),
    ProcSpec("admissions", "worker", 8011),
    ProcSpec("admissions", "api", 8010),
    ProcSpec("gaps", "worker", 8021),
    ProcSpec("gaps", "api", 8020),
    ProcSpec("outreach", "worker", 8031),
    ProcSpec("outreach", "api", 8030, links=(("RISK_API_URL", 8070),)),  # the task page's risk view
    ProcSpec("billing", "worker", 8041),
    ProcSpec("billing", "api", 8040),
    ProcSpec("notifications", "worker", 8061),
    ProcSpec("notifications", "api", 8060),
    ProcSpec("portal", "worker", 8081),
    ProcSpec("portal", "api", 8080),
    ProcSpec("risk", "worker", 8071),
    ProcSpec("risk", "api", 8070),
    ProcSpec("ops", "lag-exporter", 8050, {"LAG_EXPORTER_PORT": "8050"}, module="carectl.lag_exporter",
             health_path="/metrics"),
)


def available(spec: ProcSpec) -> bool:
    return bool(spec.module) or (REPO / "services" / spec.service / "__main__.py").exists()


@dataclass
class Running:
    spec: ProcSpec
    popen: subprocess.Popen
    log_path: Path
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)


class Supervisor:
    def __init__(self, env: dict[str, str], var_dir: Path, specs: tuple[ProcSpec, ...] = PROCESSES,
                 python: str = sys.executable) -> None:
        self.env = env
        self.port_offset = int(env.get("PORT_OFFSET", "0") or 0)
        self.var_dir = var_dir
        self.specs = tuple(s for s in specs if available(s))
        self.python = python
        self.running: dict[str, Running] = {}
        (var_dir / "logs").mkdir(parents=True, exist_ok=True)

    def _spawn(self, spec: ProcSpec) -> subprocess.Popen:
        env = dict(self.env)
        env.update(spec.extra_env)
        env.update(spec.port_env(self.port_offset))
        env["DATABASE_URL"] = self.env.get(f"{spec.service.upper()}_DATABASE_URL", self.env.get("DATABASE_URL", ""))
        if not env["DATABASE_URL"]:
            env.pop("DATABASE_URL")
        log = open(self.var_dir / "logs" / f"{spec.name}.log", "ab")
        return subprocess.Popen([self.python, *spec.argv()], env=env, cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)

    def migrate(self) -> None:
        """The explicit schema step of every service, before any process starts."""
        done = set()
        for spec in self.specs:
            if spec.module or spec.service in done:
                continue
            done.add(spec.service)
            env = dict(self.env)
            url = self.env.get(f"{spec.service.upper()}_DATABASE_URL", self.env.get("DATABASE_URL"))
            if url:
                env["DATABASE_URL"] = url
            subprocess.run([self.python, "-m", f"services.{spec.service}", "migrate"], env=env, cwd=REPO, check=True)

    def start(self) -> None:
        for spec in self.specs:
            self.running[spec.name] = Running(spec, self._spawn(spec), self.var_dir / "logs" / f"{spec.name}.log")

    def health(self, names=None) -> dict[str, bool]:
        """/healthz of every running process (or of ``names``): answered 200 or not."""
        out = {}
        for name, r in self.running.items():
            if names and name not in names:
                continue
            try:
                out[name] = httpx.get(f"http://127.0.0.1:{r.spec.http_port + self.port_offset}{r.spec.health_path}",
                                      timeout=1.5).status_code == 200
            except httpx.HTTPError:
                out[name] = False
        return out

    def wait_healthy(self, timeout: float = 120.0, on_tick=None) -> dict[str, bool]:
        deadline = time.monotonic() + timeout
        status = {}
        while time.monotonic() < deadline:
            self.restart_dead()
            status = self.health()
            if on_tick:
                on_tick(status)
            if status and all(status.values()):
                return status
            time.sleep(0.5)
        return status

    def restart_dead(self) -> list[str]:
        restarted = []
        for name, r in self.running.items():
            if r.popen.poll() is not None:
                r.popen = self._spawn(r.spec)
                r.restarts += 1
                r.started_at = time.monotonic()
                restarted.append(name)
        return restarted

    def stop(self, timeout: float = 20.0) -> None:
        for r in self.running.values():
            if r.popen.poll() is None:
                try:
                    os.killpg(r.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for r in self.running.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                r.popen.wait(remaining)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(r.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
