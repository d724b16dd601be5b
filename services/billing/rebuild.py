"""The replay invariant: replaying every input topic from offset 0 into an empty ledger
reproduces the live balances to the cent.

``rebuild(settings)``:

1. settles the live ledger's pending estimates (what the worker's timer would do next);
2. creates an empty scratch store — a PostgreSQL schema (``REBUILD_SCHEMA``) in the live
   database, or an SQLite file beside the live one — and copies into it the inputs that do
   not travel on topics: the loaded contracts, the metrics fed through the API, the closed
   months and the open month;
3. reads every topic of the worker's routes table (``routes.py``) from the beginning up to the
   high watermarks taken at the start, and applies them in batches through the same routes
   handler the worker runs (the same dedupe, the same use cases, the same batch code: the live
   and the rebuilt ledgers share one code path), then settles every contract's estimates;
4. compares the net of every ledger key (contract, period, account, member, rule) and prints
   the differences per contract month and account (no member ids).

Run it while the worker is idle: events applied live during the replay show as differences.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from shared.codec import decode
from shared.db import Database, claim_new_events
from shared.errors import InvalidEvent

from .adapters.database import open_database
from .adapters.tables import billing_state, closed_months, contracts, fed_metrics
from .adapters.unit_of_work import LedgerLock, SqlUnitOfWork, unit_of_work_factory
from .adapters.wiring import accruals as make_accruals
from .app import ledger
from .app.batch import LedgerBatch
from .app.context import Accruals, AccrualSettings
from .app.maintenance import Maintenance
from .domain import format_cents
from .metrics import Pending
from .routes import CONSUMER, ROUTES
from .settings import BillingSettings

COPIED = (contracts, fed_metrics, closed_months, billing_state)


@dataclass
class RebuildResult:
    events: int = 0
    invalid: int = 0
    live_keys: int = 0
    replay_keys: int = 0
    differences: dict = field(default_factory=dict)  # (contract, period, account) -> (live, replay)
    differing_keys: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.differing_keys == 0


def scratch_database(settings: BillingSettings, live: Database) -> Database:
    url = make_url(live.url)
    if url.get_backend_name() == "postgresql":
        schema = settings.rebuild_schema
        with live.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        return open_database(live.url, schema=schema, pool_size=2)
    path = Path(settings.var_dir) / "billing-rebuild.db"
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    return open_database(f"sqlite:///{path.resolve()}")


def drop_scratch(settings: BillingSettings, live: Database, scratch: Database) -> None:
    scratch.dispose()
    if make_url(live.url).get_backend_name() == "postgresql":
        with live.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.rebuild_schema}" CASCADE'))


def copy_inputs(live: Database, scratch: LedgerLock) -> None:
    with live.sessions() as src, scratch.transaction() as dst:
        for table in COPIED:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(insert(table), rows)


def replayer(scratch: LedgerLock, accruals: Accruals) -> Callable[[list], None]:
    """``apply(events)``: one batch as the worker applies it — the ``processed_events`` dedupe and
    the routes table's handler, in one transaction under the ledger lock — without Kafka (the
    entries it derives are not published)."""
    handler = ROUTES.handler(SqlUnitOfWork.for_session, LedgerBatch.starter(accruals))

    def apply(events: list) -> None:
        with scratch.transaction() as s:
            new = claim_new_events(s, scratch.processed, CONSUMER, (str(e.event_id) for e in events))
            fresh, seen = [], set()
            for e in events:
                eid = str(e.event_id)
                if eid in new and eid not in seen:
                    seen.add(eid)
                    fresh.append(e)
            if fresh:
                handler(s, fresh)

    return apply


def read_topics(settings: BillingSettings, apply: Callable[[list], None], batch: int = 2000) -> tuple[int, int]:
    """Every record of the input topics up to the watermarks at the start, in batches."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**settings.kafka_client_config(), "group.id": f"billing-rebuild-{time.time_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    total = invalid = 0
    try:
        for name in ROUTES.topics():
            topic = settings.topic(name)
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            ends: dict[int, int] = {}
            starts: list[TopicPartition] = []
            for p in meta.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[p] = high
                    starts.append(TopicPartition(topic, p, low))
            if not starts:
                continue
            consumer.assign(starts)
            pending: list = []
            while ends:
                for m in consumer.consume(batch, timeout=1.0):
                    if m.error():
                        continue
                    if m.offset() >= ends.get(m.partition(), -1):
                        continue
                    if m.offset() + 1 >= ends[m.partition()]:
                        del ends[m.partition()]
                    total += 1
                    try:
                        pending.append(decode(m.value(), m.headers(), ROUTES.events()))
                    except InvalidEvent:
                        invalid += 1
                    if len(pending) >= batch:
                        apply(pending)
                        pending = []
            if pending:
                apply(pending)
            consumer.unassign()
    finally:
        consumer.close()
    return total, invalid


def rebuild(settings: BillingSettings, *, keep: bool = False, settle_live: bool = True) -> RebuildResult:
    from shared.kafka import EventProducer

    started = time.perf_counter()
    result = RebuildResult()
    live = open_database(settings.resolved_database_url(), pool_size=2)
    if settle_live:
        producer = EventProducer(settings, client_id="billing-rebuild")
        try:
            Maintenance(unit_of_work_factory(LedgerLock(live), producer), make_accruals(settings)).run()
        finally:
            producer.close()
    scratch_db = scratch_database(settings, live)
    scratch = LedgerLock(scratch_db)
    try:
        copy_inputs(live, scratch)
        replay = Accruals(AccrualSettings(open_month_policy="fixed", estimate_interval_s=float("inf")))
        result.events, result.invalid = read_topics(settings, replayer(scratch, replay))
        uow = unit_of_work_factory(scratch, None)
        with uow() as w:
            ctx = replay.context(w)
            w.books.mark_dirty({c.contract_id: c.first_period() for c in ctx.book})
            ledger.post(w, ledger.settle(w, ctx), Pending(), replay.clock())
            w.commit()
        with uow(writer=False) as r:
            replay_balances = r.ledger.key_balances()
        with unit_of_work_factory(LedgerLock(live), None)(writer=False) as r:
            live_balances = r.ledger.key_balances()
    finally:
        if not keep:
            drop_scratch(settings, live, scratch_db)
        else:
            scratch_db.dispose()
        live.dispose()
    result.live_keys, result.replay_keys = len(live_balances), len(replay_balances)
    for key in set(live_balances) | set(replay_balances):
        a, b = live_balances.get(key, 0), replay_balances.get(key, 0)
        if a != b:
            result.differing_keys += 1
            group = (key.contract_id, key.period, key.account)
            la, lb = result.differences.get(group, (0, 0))
            result.differences[group] = (la + a, lb + b)
    result.seconds = time.perf_counter() - started
    return result


def report_lines(result: RebuildResult) -> list[str]:
    lines = [f"replayed {result.events} events ({result.invalid} invalid) in {result.seconds:.1f} s; "
             f"ledger keys live {result.live_keys}, replay {result.replay_keys}"]
    if result.ok:
        lines.append("balances match to the cent")
        return lines
    lines.append(f"{result.differing_keys} ledger keys differ:")
    lines.append(f"{'contract':<12} {'period':<8} {'account':<24} {'live':>14} {'replay':>14} {'difference':>14}")
    for (c, p, a), (x, y) in sorted(result.differences.items()):
        lines.append(f"{c:<12} {p:<8} {a:<24} {format_cents(x):>14} {format_cents(y):>14} {format_cents(y - x):>14}")
    return lines

