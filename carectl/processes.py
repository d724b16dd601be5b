"""The platform's processes, their ports and how to start, watch and stop them.

Every service runs as separate processes from one code base (``python -m services.<name>
<process>``). The supervisor here starts them with their environment, writes each one's log to
``var/logs/<service>-<process>.log``, restarts a process that dies (a worker that cannot make
progress exits on purpose, without committing, and is restarted), and stops all of them on
Ctrl-C.

Workers scale out (``ccp up --workers N`` or ``--workers gaps=3``): instance 1 of a service's
worker keeps its port (80x1), instances 2..7 take 80x4..80x9 (``worker_port``); all of them
join the service's one consumer group and share its partitions. ``Supervisor.scale`` changes
the count of a running platform (the scale test moves a worker 1 -> 3 -> 1 under load).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
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
    instance: int = 1  # workers: 1..MAX_WORKERS, each its own member of the service's consumer group
    links: tuple[tuple[str, int], ...] = ()  # (setting, port): another process's URL, http://127.0.0.1:<port>

    def port_env(self, offset: int) -> dict[str, str]:
        """The port settings of this process, shifted by ``offset`` (PORT_OFFSET)."""
        if self.module:
            return {"LAG_EXPORTER_PORT": str(self.http_port + offset)}
        if self.process == "mllp":
            return {"MLLP_PORT": str(2575 + offset), "MLLP_METRICS_PORT": str(self.http_port + offset)}
        return {f"{self.process.upper()}_PORT": str(self.http_port + offset)}

    def link_env(self, offset: int) -> dict[str, str]:
        """The URLs of the local processes this one calls (``links``), shifted by ``offset``."""
        return {name: f"http://127.0.0.1:{port + offset}" for name, port in self.links}

    def argv(self) -> list[str]:
        return ["-m", self.module] if self.module else ["-m", f"services.{self.service}", self.process]

    @property
    def name(self) -> str:
        base = f"{self.service}-{self.process}"
        return base if self.instance == 1 else f"{base}-{self.instance}"

    def as_instance(self, i: int) -> "ProcSpec":
        """Worker instance ``i`` of this spec (its own port, same service and consumer group)."""
        if self.process != "worker":
            raise ValueError(f"only workers scale out; {self.name} is one process")
        return replace(self, instance=i, http_port=worker_port(self.http_port, i))


MAX_WORKERS = 7  # per service on one machine: ports 80x1, 80x4..80x9 (more: Kubernetes, deploy/k8s)


def worker_port(base: int, instance: int) -> int:
    """Port of worker ``instance``: the first keeps ``base`` (80x1), the others 80x4..80x9, inside the
    service's block of ten, so PORT_OFFSET (a multiple of 100) keeps side-by-side platforms apart."""
    if not 1 <= instance <= MAX_WORKERS:
        raise ValueError(f"1..{MAX_WORKERS} workers per service locally (asked {instance})")
    return base if instance == 1 else base + instance + 1


def parse_workers(values: list[str] | None, services: list[str]) -> dict[str, int]:
    """``--workers`` values: ``N`` (every service) and/or ``service=N`` (one), later ones win."""
    out: dict[str, int] = {}
    for value in values or []:
        name, _, count = value.rpartition("=")
        try:
            n = int(count)
        except ValueError:
            raise ValueError(f"--workers {value!r}: expected N or SERVICE=N") from None
        if not 1 <= n <= MAX_WORKERS:
            raise ValueError(f"--workers {value!r}: 1..{MAX_WORKERS} worker processes per service on one machine")
        if name and name not in services:
            raise ValueError(f"--workers {value!r}: no service {name!r} (one of {', '.join(services)})")
        for svc in ([name] if name else services):
            out[svc] = n
    return out


def with_workers(specs: tuple[ProcSpec, ...], workers: dict[str, int]) -> tuple[ProcSpec, ...]:
    """``specs`` with each listed service's worker repeated ``workers[service]`` times."""
    out: list[ProcSpec] = []
    for spec in specs:
        out.append(spec)
        if spec.process == "worker" and not spec.module:
            out.extend(spec.as_instance(i) for i in range(2, workers.get(spec.service, 1) + 1))
    return tuple(out)


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
    ProcSpec("intake", "api", 8090),  # roster and claims loads (no worker: it consumes no topic)
    ProcSpec("ops", "lag-exporter", 8050, {"LAG_EXPORTER_PORT": "8050"}, module="carectl.lag_exporter",
             health_path="/metrics"),
)


def service_database_url(env: dict[str, str] | os._Environ, service: str) -> str | None:
    """The database URL a service's processes get: ``<SERVICE>_DATABASE_URL`` when set, else the one
    ``DATABASE_URL`` — on PostgreSQL with the service's own schema as its search path (the services'
    table names overlap: admissions, gaps and notifications each have a ``members`` table), created by
    the service's schema step. A URL that already sets ``options`` is passed as it is. None: the
    service's SQLite file under the var directory."""
    own = env.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return own
    shared = env.get("DATABASE_URL")
    return with_schema(shared, service) if shared else None


def with_schema(url: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if not u.drivername.startswith("postgresql") or "options" in u.query:
        return url
    return u.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def database_services() -> tuple[str, ...]:
    """The platform's services (each has a database of its own), in the port plan's order."""
    return tuple(dict.fromkeys(spec.service for spec in PROCESSES if not spec.module))


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
        env.update(spec.link_env(self.port_offset))
        env.pop("DATABASE_URL", None)
        url = service_database_url(self.env, spec.service)
        if url:
            env["DATABASE_URL"] = url
        env.update(service_kafka_credentials(self.env, spec.service))
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
            url = service_database_url(self.env, spec.service)
            if url:
                env["DATABASE_URL"] = url
            subprocess.run([self.python, "-m", f"services.{spec.service}", "migrate"], env=env, cwd=REPO, check=True)

    def start(self) -> None:
        for spec in self.specs:
            self._start(spec)

    def _start(self, spec: ProcSpec) -> None:
        self.running[spec.name] = Running(spec, self._spawn(spec), self.var_dir / "logs" / f"{spec.name}.log")

    def workers(self, service: str) -> list[str]:
        """Names of the service's running worker instances, first to last."""
        return [n for n, r in sorted(self.running.items(), key=lambda kv: kv[1].spec.instance)
                if r.spec.service == service and r.spec.process == "worker"]

    def scale(self, service: str, n: int, timeout: float = 60.0) -> list[str]:
        """Run ``n`` worker processes of ``service``: start the missing instances, or stop the
        highest ones gracefully (SIGTERM: faust leaves the group and commits what it applied).
        Returns the names started or stopped; the caller waits for health as it needs."""
        base = next((s for s in self.specs if s.service == service and s.process == "worker" and s.instance == 1),
                    None)
        if base is None:
            raise ValueError(f"{service} has no worker")
        current = self.workers(service)
        changed = []
        for i in range(len(current) + 1, n + 1):
            spec = base.as_instance(i)
            self._start(spec)
            changed.append(spec.name)
        for name in current[n:][::-1]:
            r = self.running.pop(name)
            _stop_one(r, timeout)
            changed.append(name)
        return changed

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
        for r in list(self.running.values()):
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


def _stop_one(r: Running, timeout: float) -> None:
    if r.popen.poll() is None:
        try:
            os.killpg(r.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    try:
        r.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(r.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        r.popen.wait(10)


KAFKA_CREDENTIALS = ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")


def service_kafka_credentials(env: dict[str, str], service: str) -> dict[str, str]:
    """``<SERVICE>_KAFKA_SASL_USERNAME/PASSWORD`` as the process's KAFKA_SASL_* (``ccp up --secure``:
    each service authenticates as its own user; the lag exporter as ``ops``)."""
    key = service.upper().replace("-", "_")
    return {name: env[f"{key}_{name}"] for name in KAFKA_CREDENTIALS if f"{key}_{name}" in env}
