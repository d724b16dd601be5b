"""Loads run by the API: on a worker thread, with their progress visible while they run.

``LoadJobs.start(load_id, fn)`` runs ``fn(on_progress)`` on a small thread pool and keeps
the latest ``Progress``; ``status(load_id)`` answers while it runs (the finished report is in
the load records, ``LoadRecords``). The uploaded temporary file is removed when the load ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..domain import LoadReport, Progress
from .budget import safe_error

log = logging.getLogger(__name__)


@dataclass
class Job:
    load_id: str
    kind: str
    started: float = field(default_factory=time.monotonic)
    progress: Progress | None = None
    report: LoadReport | None = None
    error: str | None = None
    future: Future | None = None

    def snapshot(self) -> dict[str, Any]:
        if self.report is not None:
            return self.report.as_dict()
        p = self.progress
        return {
            "load_id": self.load_id, "kind": self.kind, "status": "failed" if self.error else "running",
            "error": self.error, "seconds": round(time.monotonic() - self.started, 1),
            "progress": None if p is None else {
                "fraction": p.fraction, "bytes_read": p.bytes_read, "total_bytes": p.total_bytes,
                "accepted": p.accepted, "rejected": p.rejected, "lines": p.lines,
            },
        }


class LoadJobs:
    def __init__(self, workers: int = 2, keep: int = 200) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # made on first use, again after a shutdown
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def start(self, load_id: str, kind: str, fn: Callable[[Callable[[Progress], None]], LoadReport],
              cleanup: Path | None = None) -> Job:
        job = Job(load_id, kind)

        def progress(p: Progress) -> None:
            job.progress = p

        def run() -> LoadReport:
            try:
                job.report = fn(progress)
                return job.report
            except Exception as exc:
                job.error = safe_error(exc)
                raise
            finally:
                if cleanup is not None:
                    cleanup.unlink(missing_ok=True)

        with self._lock:
            self._jobs[load_id] = job
            if len(self._jobs) > self._keep:
                for old in [k for k, j in self._jobs.items() if j.report is not None][: len(self._jobs) - self._keep]:
                    del self._jobs[old]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="intake-load")
            pool = self._pool
        job.future = pool.submit(run)
        return job

    def get(self, load_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(load_id)

    def shutdown(self) -> None:
        """Wait for running loads; a later start (the app served again) makes a new pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
