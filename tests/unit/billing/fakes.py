"""In-memory books and contract facts for billing's command use cases (``app/commands.py`` over
``app/ports.py``): no database, no Kafka. They keep the rules the SQL adapters keep — every load of
a contract kept with a rising sequence, the latest one in force; a dirty mark keeps the earliest
period; a fed metric replaces the one of its (contract, period, metric) — and the shared
in-memory unit of work makes a batch all-or-nothing. The ledger, member and accrual-row ports
have no in-memory double yet: their use cases are tested on PostgreSQL and SQLite in
``tests/integration/billing``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.billing.app.ports import StoreUnavailable
from services.billing.domain import ClosedMonths
from tests.support.fake_uow import FakeUnitOfWorkBase


@dataclass
class Store:
    """What the database would hold."""

    loads: list[dict] = field(default_factory=list)          # every contract file loaded, in order
    closed: set[tuple[str, str]] = field(default_factory=set)
    state: dict[str, str] = field(default_factory=dict)
    dirty: dict[str, str] = field(default_factory=dict)      # contract -> earliest period to recompute
    metrics: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    published: list = field(default_factory=list)            # what went to Kafka (confirmed before each commit)
    commits: int = 0


class Books:
    def __init__(self, s: Store) -> None:
        self.s = s

    def current_contracts(self) -> dict[str, tuple[int, str, str]]:
        return {r["contract_id"]: (r["seq"], r["fingerprint"], r["document"]) for r in self.s.loads}

    def save_contract(self, contract_id, fingerprint, source, document, at: datetime, by: str) -> int:
        seq = len(self.s.loads) + 1
        self.s.loads.append({"seq": seq, "contract_id": contract_id, "fingerprint": fingerprint, "source": source,
                             "document": document, "loaded_at": at, "loaded_by": by})
        return seq

    def closed(self) -> ClosedMonths:
        return ClosedMonths(frozenset(self.s.closed))

    def close(self, contract_id, period, at, by) -> None:
        self.s.closed.add((contract_id, period))

    def get_state(self, key):
        return self.s.state.get(key)

    def set_state(self, key, value) -> None:
        self.s.state[key] = value

    def mark_dirty(self, marks) -> None:
        for c, p in marks.items():
            self.s.dirty[c] = min(p, self.s.dirty.get(c, p))

    def take_dirty(self) -> dict[str, str]:
        marks, self.s.dirty = dict(self.s.dirty), {}
        return marks

    def peek_dirty(self) -> dict[str, str]:
        return dict(self.s.dirty)


class Facts:
    def __init__(self, s: Store) -> None:
        self.s = s

    def feed_metric(self, contract_id, period, metric, value, at, by) -> None:
        self.s.metrics[(contract_id, period, metric)] = {"period": period, "metric": metric, "value": value,
                                                         "recorded_at": at}

    def fed_metric_rows(self, contract_id) -> list[dict]:
        return [row for (c, _, _), row in sorted(self.s.metrics.items()) if c == contract_id]


class FakeUnitOfWork(FakeUnitOfWorkBase):
    def __init__(self, store: Store, *, writer: bool = True) -> None:
        self.writer = writer
        super().__init__(store)

    def _bind(self, s) -> None:
        super()._bind(s)
        self.books = Books(s)
        self.facts = Facts(s)
        self._outbox: list = []

    def commit_failure(self) -> Exception:
        return StoreUnavailable("OperationalError")

    def publish(self, events) -> None:
        self._outbox.extend(events)

    def commit(self) -> None:
        outbox, self._outbox = self._outbox, []
        self.store.published.extend(outbox)   # confirmed by Kafka before the transaction commits
        super().commit()


def uow_factory(store: Store):
    """``uow()`` a writer, ``uow(writer=False)`` a reader, as ``adapters.unit_of_work_factory``."""
    return lambda *, writer=True: FakeUnitOfWork(store, writer=writer)
