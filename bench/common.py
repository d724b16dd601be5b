"""What every benchmark script shares: the machine line and one RESULT line per figure.

A benchmark prints human-readable progress and figures, plus one machine-readable line per
figure: ``RESULT {"figure": ..., "value": ..., "unit": ..., "target": ..., "better": ...}``.
``bench/run_all.py`` collects those lines into the table the README's performance section
comes from.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def machine() -> str:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores {cpu}, Python {platform.python_version()}, {platform.system()}"


def report(figure: str, value: float, unit: str, *, target: float | None = None, better: str = "higher",
           note: str = "") -> None:
    """Print one figure (human line + RESULT line)."""
    ok = None
    if target is not None:
        ok = value >= target if better == "higher" else value <= target
    mark = "" if ok is None else (" (meets target)" if ok else " (MISSES target)")
    tgt = "" if target is None else f"  target {'≥' if better == 'higher' else '≤'} {target:g} {unit}"
    print(f"{figure}: {value:,.2f} {unit}{tgt}{mark}" + (f"  [{note}]" if note else ""), flush=True)
    print("RESULT " + json.dumps({"figure": figure, "value": value, "unit": unit, "target": target,
                                  "better": better, "ok": ok, "note": note}), flush=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def ensure_kafka() -> str:
    import subprocess

    subprocess.run([sys.executable, str(REPO / "deploy" / "kafka" / "kafkactl.py"), "start"], check=True)
    return os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def ensure_postgres() -> str:
    import subprocess

    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    return subprocess.run([sys.executable, str(REPO / "deploy" / "postgres" / "pgctl.py"), "start"], check=True,
                          capture_output=True, text=True).stdout.strip()


class Procs:
    """A benchmark's service processes, started as a user starts them (``python -m services.<name>
    <process>``), each logging to ``work/<service>-<process>-<port>.log``; ``start`` returns once the
    process answers ``/healthz`` on ``health_port`` (or stops the run with the log to read)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.running: list[subprocess.Popen] = []

    def start(self, service: str, process: str, env: dict[str, str], health_port: int) -> subprocess.Popen:
        import httpx

        self.work.mkdir(parents=True, exist_ok=True)
        log = open(self.work / f"{service}-{process}-{health_port}.log", "wb")
        p = subprocess.Popen([sys.executable, "-m", f"services.{service}", process], cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO), "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING",
                                  **env}, stdout=log, stderr=subprocess.STDOUT)
        self.running.append(p)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise SystemExit(f"{service} {process} exited: see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{health_port}/healthz", timeout=1).status_code == 200:
                    return p
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{service} {process} not healthy: see {log.name}")

    def stop(self, p: subprocess.Popen) -> None:
        """Stop one process (the next phase should not share the cores with an idle leftover)."""
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.running.remove(p)

    def stop_all(self) -> None:
        for p in self.running:
            if p.poll() is None:
                p.terminate()
        for p in self.running:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
