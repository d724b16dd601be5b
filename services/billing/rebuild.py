"""The replay invariant: replaying every input topic from offset 0 into an empty ledger
reproduces the live balances to the cent.

``rebuild(settings)``:

1. settles the live ledger's pending estimates (what the worker's timer would do next);
2. creates an empty scratch store — a PostgreSQL schema (``REBUILD_SCHEMA``) in the live
   database, or an SQLite file beside the live one — and copies into it the inputs that do
   not travel on topics: the loaded contracts, the metrics fed through the API, the closed
   months and the open month;
3. reads members.roster, claims.events, gaps.events, care.transitions and outreach.tasks from
   the beginning up to the high watermarks taken at the start, and applies them through the
   worker's own handler (same dedupe, same rules), then settles every contract's estimates;
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
from shared.db import claim_new_events
from shared.errors import InvalidEvent

from .aggregates import key_balances
from .domain import format_cents
from .handlers import INPUT_EVENTS, INPUT_TOPICS, Billing
from .metrics import Pending
from .settings import BillingSettings
from .state import mark_dirty
from .store import BillingDatabase, billing_state, closed_months, contracts, fed_metrics, processed

CONSUMER = "billing.ledger"
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


def scratch_database(settings: BillingSettings, live: BillingDatabase) -> BillingDatabase:
    url = make_url(live.url)
    if url.get_backend_name() == "postgresql":
        schema = settings.rebuild_schema
        with live.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db = BillingDatabase(live.url, schema=schema, pool_size=2)
    else:
        path = Path(settings.var_dir) / "billing-rebuild.db"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        db = BillingDatabase(f"sqlite:///{path.resolve()}")
    db.create_schema()
    return db


def drop_scratch(settings: BillingSettings, live: BillingDatabase, scratch: BillingDatabase) -> None:
    scratch.dispose()
    if make_url(live.url).get_backend_name() == "postgresql":
        with live.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.rebuild_schema}" CASCADE'))


def copy_inputs(live: BillingDatabase, scratch: BillingDatabase) -> None:
    with live.reader() as src, scratch.transaction() as dst:
        for table in COPIED:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(insert(table), rows)


def read_topics(settings: BillingSettings, apply: Callable[[list], None], batch: int = 2000) -> tuple[int, int]:
    """Every record of the input topics up to the watermarks at the start, in batches."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**settings.kafka_client_config(), "group.id": f"billing-rebuild-{time.time_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    total = invalid = 0
    try:
        for name in INPUT_TOPICS:
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
                        pending.append(decode(m.value(), m.headers(), INPUT_EVENTS))
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
    live = BillingDatabase(settings.resolved_database_url(), pool_size=2)
    live.create_schema()
    if settle_live:
        producer = EventProducer(settings, client_id="billing-rebuild")
        try:
            Billing(open_month_policy=settings.open_month_policy, open_month=settings.open_month,
                    estimate_interval_s=settings.estimate_interval_s).maintain(live, producer.send_sync)
        finally:
            producer.close()
    scratch = scratch_database(settings, live)
    try:
        copy_inputs(live, scratch)
        replay = Billing(open_month_policy="fixed", estimate_interval_s=float("inf"))

        def apply(events: list) -> None:
            with scratch.transaction() as s:
                new = claim_new_events(s, processed, CONSUMER, (str(e.event_id) for e in events))
                fresh, seen = [], set()
                for e in events:
                    eid = str(e.event_id)
                    if eid in new and eid not in seen:
                        seen.add(eid)
                        fresh.append(e)
                if fresh:
                    replay.handle(s, fresh)

        result.events, result.invalid = read_topics(settings, apply)
        with scratch.transaction() as s:
            ctx = replay.context(s)
            mark_dirty(s, {c.contract_id: c.first_period() for c in ctx.book})
            replay._post(s, replay.settle(s, ctx), Pending())
        with live.reader() as s:
            live_balances = key_balances(s)
        with scratch.reader() as s:
            replay_balances = key_balances(s)
    finally:
        if not keep:
            drop_scratch(settings, live, scratch)
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

