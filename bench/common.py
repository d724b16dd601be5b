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
import sys
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
