"""In-memory fakes of intake's ports (``services.intake.app.ports``): the use cases run without
a broker, a database or a file system for reports."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.intake.app.ports import LoadConfig, LoadContext, StoredSnapshot


class FakeSink:
    """Confirms a batch every ``batch_size`` items and on flush; ``fail`` makes the next flush
    raise a broker error (nothing of that batch is confirmed)."""

    def __init__(self, store: "Memory", on_confirmed, batch_size: int) -> None:
        self.store, self.on_confirmed, self.batch_size = store, on_confirmed, batch_size
        self.pending: list[tuple[str, Any, Any]] = []

    def _add(self, kind: str, item: Any, tag: Any) -> None:
        self.pending.append((kind, item, tag))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def event(self, event, tag=None) -> None:
        self._add("event", event, tag)

    def dead_letter(self, letter, tag=None) -> None:
        self._add("dlq", letter, tag)

    def flush(self) -> None:
        if not self.pending:
            return
        if self.store.fail:
            from shared.errors import DeliveryError

            self.pending = []
            raise DeliveryError("the broker did not confirm")
        batch, self.pending = self.pending, []
        for kind, item, _ in batch:
            (self.store.events if kind == "event" else self.store.dead_letters).append(item)
        self.on_confirmed([tag for _, _, tag in batch])

    def close(self) -> None:
        self.pending = []


class Memory:
    """Every port over dicts and lists."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.dead_letters: list[Any] = []
        self.loads: dict[str, dict] = {}
        self.snapshots: dict[str, StoredSnapshot] = {}
        self.versions: dict[str, dict[str, Any]] = defaultdict(dict)
        self.reports: list[Any] = []
        self.fail = False

    # LoadRecords
    def start(self, report) -> None:
        report.owner = {"host": "test", "pid": 1, "started": None}
        self.loads[report.load_id] = report.as_dict()

    def finish(self, report) -> None:
        self.loads[report.load_id] = report.as_dict()

    def first_done_claims_load(self, sha256: str):
        return next((i for i, r in self.loads.items() if r["kind"] == "claims" and r["sha256"] == sha256
                     and r["status"] == "done"), None)

    def get(self, load_id: str):
        return self.loads.get(load_id)


class Snapshots:
    def __init__(self, memory: Memory) -> None:
        self.m = memory

    def stored(self, member_ids):
        return {m: self.m.snapshots[m] for m in member_ids if m in self.m.snapshots}

    def active(self):
        return iter([s for s in self.m.snapshots.values() if s.status == "active"])

    def record(self, snapshots) -> None:
        for s in snapshots:
            self.m.snapshots[s.member_id] = s


class Versions:
    def __init__(self, memory: Memory) -> None:
        self.m = memory

    def for_members(self, member_ids):
        return {m: list(self.m.versions[m].values()) for m in member_ids if self.m.versions.get(m)}

    def record(self, versions) -> None:
        for member_id, link in versions:
            self.m.versions[member_id].setdefault(link.event_id, link)


class Files:
    def __init__(self, memory: Memory) -> None:
        self.m = memory

    def write(self, report, beside) -> None:
        report.report_file = None
        self.m.reports.append(report.as_dict())


def context(memory: Memory | None = None, **config) -> tuple[LoadContext, Memory]:
    m = memory or Memory()
    cfg = LoadConfig(**{"batch_size": 50, **config})
    ctx = LoadContext(config=cfg, sink=lambda on_confirmed: FakeSink(m, on_confirmed, cfg.batch_size), records=m,
                      roster=Snapshots(m), claims=Versions(m), files=Files(m))
    return ctx, m
