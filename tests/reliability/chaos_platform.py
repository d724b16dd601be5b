"""The whole platform as ``python -m carectl up`` runs it (carectl.processes.Supervisor: the
same process table, environment, migrate step and restart of dead processes), held in the test
process so that single processes can be SIGKILLed and their restarts counted.

Isolation as in tests/support/platform.py: its own topic prefix, VAR_DIR and PORT_OFFSET; each
service on its own PostgreSQL database (``<SERVICE>_DATABASE_URL``, as the supervisor reads it).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path


from carectl.processes import Supervisor
from tests.support.platform import pick_port_offset
from tests.support.procs import wait_for
from tests.support.infra import new_topic_prefix

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("admissions", "gaps", "outreach", "billing", "intake")
# Every process the issue asks to kill (the lag exporter is an observer, not on any data path).
KILLABLE = ("admissions-mllp", "admissions-worker", "admissions-api", "gaps-worker", "gaps-api", "intake-api",
            "outreach-worker", "outreach-api", "billing-worker", "billing-api")
WORKERS = {"admissions": "admissions-worker", "gaps": "gaps-worker", "outreach": "outreach-worker",
           "billing": "billing-worker"}


def create_topics(bootstrap: str, prefix: str, partitions: int = 3):
    """The registry's topics (and .dlq twins) under ``prefix``, at most ``partitions`` each."""
    from shared.kafka_admin import ensure_topics
    from shared.settings import CommonSettings
    from shared.topics import all_topics

    settings = CommonSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix)
    ensure_topics(settings, [replace(s, partitions=min(s.partitions, partitions)) for s in all_topics()])
    return settings


def remove_faust_dirs(prefix: str) -> None:
    """faust writes ``<app id>-data`` into the working directory (the repo): remove ours."""
    for d in REPO.glob(f"{prefix}ccp-*-data"):
        shutil.rmtree(d, ignore_errors=True)


class ChaosPlatform:
    def __init__(self, bootstrap: str, var_dir: Path, db_urls: dict[str, str], *, prefix: str | None = None,
                 partitions: int = 3, extra_env: dict[str, str] | None = None, log_level: str = "INFO") -> None:
        self.bootstrap = bootstrap
        self.var_dir = Path(var_dir)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix or new_topic_prefix("rel", 8)
        self.partitions = partitions
        self.offset = pick_port_offset()
        env = dict(os.environ, KAFKA_BOOTSTRAP=bootstrap, TOPIC_PREFIX=self.prefix, PORT_OFFSET=str(self.offset),
                   VAR_DIR=str(self.var_dir), ENVIRONMENT="development", PYTHONPATH=str(REPO), LOG_LEVEL=log_level)
        env.pop("DATABASE_URL", None)
        for service, url in db_urls.items():
            env[f"{service.upper()}_DATABASE_URL"] = url
        env.update(extra_env or {})
        self.env = env
        self.db_urls = dict(db_urls)
        self.sup = Supervisor(env, self.var_dir)
        self.settings = None
        self.kills: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    # ------------------------------------------------------------------ addresses
    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port + self.offset}"

    @property
    def mllp_port(self) -> int:
        return 2575 + self.offset

    def port_of(self, name: str) -> int:
        return self.sup.running[name].spec.http_port + self.offset

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 240) -> "ChaosPlatform":
        self.settings = create_topics(self.bootstrap, self.prefix, self.partitions)
        self.sup.migrate()
        self.sup.start()
        self._watchdog = threading.Thread(target=self._watch, name="chaos-watchdog", daemon=True)
        self._watchdog.start()
        self.wait_healthy(timeout=timeout)
        return self

    def _watch(self) -> None:
        # What ``carectl up`` does every second (here every 0.2 s): restart what died.
        while not self._stop.wait(0.2):
            with self._lock:
                self.sup.restart_dead()

    def healthy(self, names=None) -> dict[str, bool]:
        return self.sup.health(names)

    def wait_healthy(self, names=None, timeout: float = 180) -> None:
        def ok():
            h = self.healthy(names)
            return all(h.values()) and h

        try:
            wait_for(ok, timeout=timeout, interval=0.5, what=f"processes healthy {names or 'all'}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_tails(names)}") from None

    def pid(self, name: str) -> int:
        return self.sup.running[name].popen.pid

    def kill(self, name: str) -> int:
        """SIGKILL one process (the watchdog restarts it); returns the killed pid."""
        with self._lock:
            r = self.sup.running[name]
            pid = r.popen.pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            r.popen.wait(10)
            self.kills[name] = self.kills.get(name, 0) + 1
        return pid

    def scale(self, service: str, n: int) -> list[str]:
        """``ccp up --workers``' scaling on the running platform: ``n`` worker processes of ``service``
        (new instances started, surplus ones stopped with SIGTERM); returns the names changed."""
        with self._lock:
            return self.sup.scale(service, n)

    def restarts(self) -> dict[str, int]:
        return {name: r.restarts for name, r in self.sup.running.items()}

    def log_tails(self, names=None, n: int = 2500) -> str:
        out = []
        for name, r in self.sup.running.items():
            if names and name not in names:
                continue
            try:
                out.append(f"--- {name}\n{r.log_path.read_text(errors='replace')[-n:]}")
            except OSError:
                pass
        return "\n".join(out)

    def stop(self) -> None:
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(5)
        self.sup.stop()
        remove_faust_dirs(self.prefix)

    def group_id(self, service: str) -> str:
        return f"{self.prefix}ccp-{service}-worker"
