"""Who runs a load, until when, and what happens to a load whose process is gone.

A load row is written ``running`` with its owner (host, process id, the process's start time -
a reused pid is not mistaken for the owner) and its deadline (start + ``LOAD_TIME_BUDGET_S``).
The owner ends it in a terminal state (done, rejected, failed) within its budget. A process
that dies mid-load (killed, out of memory, the machine restarted) cannot: ``sweep_stale_loads``
marks such a load ``failed`` with the reason, when

- its owner was a process on this host that is no longer running (the API does this at start,
  and every CLI load before it starts; ``GET /loads/{id}`` checks the one asked for), or
- its deadline passed more than ``STALE_GRACE_S`` ago (an owner on another host, or one that
  stopped answering).

A failed load is not resumed: the claims it produced keep their ids, so loading the file again
produces the missing ones and the worker applies the others once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select, update

from shared.db import Database

from ..domain import utcnow
from .tables import ingest_loads

log = logging.getLogger(__name__)

STALE_GRACE_S = 60.0
INTERRUPTED = ("the process running this load stopped before it finished (killed, crashed or restarted); "
               "what it produced keeps its ids: loading the file again is safe")
OVERDUE = ("the load did not end within its time budget and its process no longer reports; what it produced keeps "
           "its ids: loading the file again is safe")


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()[:200]


def current_owner() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": _host(), "pid": pid, "started": _start_ticks(pid)}


def owner_alive(owner: dict[str, Any] | None) -> bool | None:
    """True / False for an owner on this host, None when it cannot be told (another host)."""
    if not owner or owner.get("host") != _host():
        return None
    try:
        pid = int(owner.get("pid"))
    except (TypeError, ValueError):
        return None
    started = _start_ticks(pid)
    if started is None:
        if os.path.isdir("/proc"):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return owner.get("started") in (None, started)


def stale_reason(report: dict[str, Any], now: datetime, started_at: datetime | None = None,
                 budget_s: float | None = None) -> str | None:
    """Why a ``running`` load is over, or None while it may still be running. A record without
    a deadline (written before loads had one) is due ``budget_s`` after ``started_at``."""
    alive = owner_alive(report.get("owner"))
    if alive is False:
        return INTERRUPTED
    due = None
    try:
        due = datetime.fromisoformat(report["deadline"]) if report.get("deadline") else None
    except (TypeError, ValueError):
        due = None
    if due is None and started_at is not None and budget_s is not None:
        due = started_at + timedelta(seconds=budget_s)
    if due is not None and now > due + timedelta(seconds=STALE_GRACE_S):
        return OVERDUE
    return None


def _fail(db: Database, load_id: str, report: dict[str, Any], reason: str, now: datetime) -> dict[str, Any]:
    from .. import metrics

    report = {**report, "status": "failed", "error": reason, "finished_at": now.isoformat()}
    with db.transaction() as session:
        changed = session.execute(update(ingest_loads).where(ingest_loads.c.load_id == load_id,
                                                             ingest_loads.c.status == "running")
                                  .values(status="failed", finished_at=now, report=json.dumps(report))).rowcount
    if changed:
        metrics.LOADS_FINISHED.labels(str(report.get("kind") or "-")[:16], str(report.get("format") or "-")[:8],
                                      "failed").inc()
        log.warning("load %s marked failed: %s", load_id, reason.split(";")[0])
    return report


def sweep_stale_loads(db: Database, budget_s: float, now: datetime | None = None) -> list[str]:
    """Mark failed every ``running`` load that is over (see the module text); their ids."""
    now = now or utcnow()
    with db.transaction() as session:
        rows = session.execute(select(ingest_loads.c.load_id, ingest_loads.c.report, ingest_loads.c.started_at)
                               .where(ingest_loads.c.status == "running")).all()
    failed = []
    for load_id, text, started_at in rows:
        report = _parse(text) or {"load_id": load_id, "status": "running"}
        reason = stale_reason(report, now, started_at, budget_s)
        if reason is not None:
            _fail(db, load_id, report, reason, now)
            failed.append(load_id)
    return failed


def check_running(db: Database, record: dict[str, Any], budget_s: float) -> dict[str, Any]:
    """A load record as it stands: a ``running`` one that is over is marked failed first."""
    if record.get("status") != "running":
        return record
    now = utcnow()
    started = record.get("started_at")
    try:
        started_at = datetime.fromisoformat(started) if isinstance(started, str) else started
    except ValueError:
        started_at = None
    reason = stale_reason(record, now, started_at, budget_s)
    if reason is None:
        return record
    return _fail(db, record["load_id"], record, reason, now)


def _parse(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
