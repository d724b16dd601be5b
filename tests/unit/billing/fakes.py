"""In-memory repositories and unit of work for billing's use cases (``app/ports.py``): no database,
no Kafka. They keep the rules the SQL adapters keep — every load of a contract kept with a rising
sequence, the latest one in force; a dirty mark keeps the earliest period; a fed metric replaces
the one of its (contract, period, metric); the ledger append-only with each entry id once
(``fake_ledger.py``); members' events stored once per event id, member months one per (member,
period), paid lines replaced a claim family at a time (``fake_members.py``) — and the shared
in-memory unit of work makes a batch all-or-nothing. ``tests/integration/billing/
test_fakes_match_sql.py`` runs the same scenarios on these and on PostgreSQL and compares;
``tests/integration/billing`` runs the use cases on PostgreSQL and SQLite."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from services.billing.app import commands
from services.billing.app.batch import LedgerBatch
from services.billing.app.context import Accruals, AccrualSettings
from services.billing.app.maintenance import Maintenance
from services.billing.app.ports import ContractRows, GapRow, StoreUnavailable
from services.billing.domain import ClosedMonths, MetricValue
from services.billing.domain.satisfaction import TaskStep
from services.billing.routes import ROUTES
from shared.codec import decode
from shared.events import ClaimV1, ClaimV2, ReadmissionV1
from tests.support.fake_uow import FakeUnitOfWorkBase
from tests.unit.billing.fake_ledger import FakeLedger
from tests.unit.billing.fake_members import FakeAccrualRows, FakeMemberHistories


@dataclass
class Store:
    """What the database would hold."""

    loads: list[dict] = field(default_factory=list)          # every contract file loaded, in order
    closed: set[tuple[str, str]] = field(default_factory=set)
    state: dict[str, str] = field(default_factory=dict)
    dirty: dict[str, str] = field(default_factory=dict)      # contract -> earliest period to recompute
    metrics: dict[tuple[str, str, str], dict] = field(default_factory=dict)
    entries: list = field(default_factory=list)              # the ledger: (posting, recorded_at), in order
    snapshots: dict = field(default_factory=dict)            # event id -> roster snapshot, in arrival order
    claims: dict = field(default_factory=dict)               # event id -> claim version (as stored: ClaimV2)
    held: dict = field(default_factory=dict)                 # (member, event id) -> held correction row
    risk: dict = field(default_factory=dict)                 # member -> their latest computed tier history
    months: dict = field(default_factory=dict)               # (member, period) -> (contract, tier, runs)
    paid: list = field(default_factory=list)                 # paid lines (member|family, member, contract, ...)
    gap_events: dict = field(default_factory=dict)           # event id -> GapRow
    transitions: dict = field(default_factory=dict)          # event id -> transition / cancel / readmission
    task_steps: dict = field(default_factory=dict)           # event id -> TaskStep
    audit: list = field(default_factory=list)
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
    """Contract facts (``app.ports.ContractFacts``) as ``adapters/facts.py`` keeps them: gap,
    transition and task events stored once per event id (a redelivered one is ignored), a fed
    metric replacing the one of its (contract, period, metric), and a contract's figures read
    from the member months and paid lines (``FakeAccrualRows``' rows) and those facts."""

    def __init__(self, s: Store) -> None:
        self.s = s

    def add_gap_events(self, events) -> None:
        for e in events:
            self.s.gap_events.setdefault(str(e.event_id), GapRow(
                str(e.event_id), e.contract_id, e.gap_key, e.measure_id, e.status, e.period_start, e.period_end,
                e.occurred_at, e.recorded_at))

    def gap_contracts(self, gap_keys) -> list[tuple[str, str]]:
        keys = set(gap_keys)
        return sorted({(g.gap_key, g.contract_id) for g in self.s.gap_events.values() if g.gap_key in keys})

    def transition_contracts(self, transition_ids) -> dict[str, str]:
        ids = set(transition_ids)
        return {str(e.transition_id): e.contract_id for e in self.s.transitions.values()
                if getattr(e, "contract_id", None) is not None and hasattr(e, "transition_id")
                and str(e.transition_id) in ids}

    def add_transitions(self, events) -> None:
        for e in events:
            self.s.transitions.setdefault(str(e.event_id), e)

    def add_task_steps(self, events) -> None:
        for e in events:
            self.s.task_steps.setdefault(str(e.event_id), TaskStep(
                str(e.task_id), e.contract_id, e.to_status, e.occurred_at, e.appointment_date, str(e.event_id)))

    def feed_metric(self, contract_id, period, metric, value, at, by) -> None:
        self.s.metrics[(contract_id, period, metric)] = {"period": period, "metric": metric, "value": value,
                                                         "recorded_at": at}

    def fed_metric_rows(self, contract_id) -> list[dict]:
        return [row for (c, _, _), row in sorted(self.s.metrics.items()) if c == contract_id]

    def contract_rows(self, contract_id: str, first: str, last: str) -> ContractRows:
        def within(period: str) -> bool:
            return first <= period <= last

        months: dict[tuple, int] = defaultdict(int)
        for (_, period), (c, tier, runs) in self.s.months.items():
            if c == contract_id and within(period):
                months[(period, tier, runs)] += 1
        costs: dict[tuple, int] = defaultdict(int)
        for _, _, c, period, code, rev, cents in self.s.paid:
            if c == contract_id and within(period):
                costs[(period, code, rev)] += cents
        keys = {g.gap_key for g in self.s.gap_events.values() if g.contract_id == contract_id}
        mine = [e for e in self.s.transitions.values() if getattr(e, "contract_id", None) in (contract_id, None)]
        tasks = {t.task_id for t in self.s.task_steps.values() if t.contract_id == contract_id}
        fed: dict[str, dict[str, MetricValue]] = defaultdict(dict)
        for (c, period, metric), row in self.s.metrics.items():
            if c == contract_id and within(period):
                fed[period][metric] = MetricValue.of(Decimal(row["value"]))
        return ContractRows(
            [(*k, n) for k, n in months.items()], [(*k, v) for k, v in costs.items()],
            [g for g in self.s.gap_events.values() if g.gap_key in keys],
            [e for e in mine if not isinstance(e, ReadmissionV1)], [e for e in mine if isinstance(e, ReadmissionV1)],
            [t for t in self.s.task_steps.values() if t.task_id in tasks], dict(fed))


class Audit:
    def __init__(self, s: Store) -> None:
        self.s = s

    def record(self, *, user_id, role, member_ids, action, endpoint, detail=None) -> None:
        for m in member_ids:
            self.s.audit.append({"user_id": user_id, "role": role, "member_id": m, "action": action,
                                 "endpoint": endpoint, "detail": detail})

    def query(self, member_id, limit) -> list[dict]:
        return [r for r in reversed(self.s.audit) if not member_id or r["member_id"] == member_id][:limit]


class FakeUnitOfWork(FakeUnitOfWorkBase):
    def __init__(self, store: Store, *, writer: bool = True) -> None:
        self.writer = writer
        super().__init__(store)

    def _bind(self, s) -> None:
        super()._bind(s)
        self.books = Books(s)
        self.facts = Facts(s)
        self.ledger = FakeLedger(s)
        self.members = FakeMemberHistories(s)
        self.rows = FakeAccrualRows(s)
        self.audit = Audit(s)
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


class FakeWorker:
    """One worker process over ``store``: a batch is the routes table's handler in one unit of work
    whose derived entries are written to Kafka (``store.published``) before the commit, as the
    consumer pipeline does (its dedupe by event id left out: what the use cases do with a
    redelivered event is what is tested); the maintenance timer; the API's month close."""

    def __init__(self, store: Store, *, open_month_policy: str = "fixed", open_month: str | None = "2026-04",
                 estimate_interval_s: float = 0, clock=None) -> None:
        settings = AccrualSettings(open_month_policy, open_month, estimate_interval_s,
                                   clock or (lambda: datetime(2026, 4, 15, tzinfo=timezone.utc)))
        self.store = store
        self.accruals = Accruals(settings)
        self.uow = uow_factory(store)

    def apply(self, events) -> list:
        with self.uow() as uow:
            handle = ROUTES.handler(lambda _session: uow, LedgerBatch.starter(self.accruals))
            out = handle(None, [consumed(e) for e in events])
            uow.publish(out)
            uow.commit()
        return out

    def maintain(self, force_settle: bool = True, chunk: int = 1000) -> int:
        return Maintenance(self.uow, self.accruals, chunk).run(force_settle)

    def close_month(self, contract_id: str, period: str, user: str = "admin") -> list:
        return commands.close_month(self.uow, self.accruals, contract_id, period, user)


def consumed(event):
    """The event as the consumer decodes it (a claim of any version as the latest, ``ClaimV2``)."""
    return decode(event.model_dump_json(), expect=(ClaimV2,)) if isinstance(event, ClaimV1) else event
