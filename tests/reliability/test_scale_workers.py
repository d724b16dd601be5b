"""Scaling a service's workers 1 -> 3 -> 1 while a feed runs: nothing lost, no duplicate side
effect, each member's events applied in order.

The whole platform (carectl's supervisor, PostgreSQL per service, topics of 6 partitions) takes
ADT over MLLP and 837 files through the intake API. While the feed runs, the gaps and billing
workers are scaled to three processes each (``Supervisor.scale``, what ``ccp up --workers 3``
starts), the test waits until each consumer group has three members sharing the partitions and
the new members applied events, then scales back to one (SIGTERM: the stopped members leave the
group; their partitions move to the survivor). Then:

- 0 acknowledged-then-lost and 0 duplicate alerts, transitions, tasks or ledger lines, and the
  ledger rebuilt from the topics equals the live one (crash_run.check, billing rebuild);
- per-member order: a member's events are on one partition; for every consumer and partition,
  the events were applied in offset order (``processed_events.processed_at``, the time of the
  batch that applied each, never goes backwards along the partition), which would not hold if
  two workers had applied parts of one partition at once or a later part before an earlier one;
- every worker instance started applied events (the partitions really moved).

The rebalance pauses (scale command to a stable, fully assigned group) are printed, not asserted.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

import pytest

from tests.reliability import feeds, invariants
from tests.reliability.chaos_platform import SERVICES, ChaosPlatform
from tests.reliability.crash_run import CrashRunResult, Pace, _send_adt_paced, billing_rebuild, check
from tests.reliability.test_crash_cycles import assert_books_balance
from tests.reliability.worker_tools import consumer_counts, group_members
from tests.support.procs import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

SCALED = ("gaps", "billing")
PARTITIONS = 6


def order_violations(applied: dict, records) -> list[tuple]:
    """(topic, partition, offset) of events applied (``applied``: event id -> time of the batch that
    applied it) before an earlier event of their partition was. An event id seen again further on
    (a derived event written again after a redelivery: same deterministic id) is a duplicate the
    consumer skipped, so only its first occurrence counts."""
    by_partition = defaultdict(list)
    seen: set[str] = set()
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        if r.event_id in seen:
            continue
        seen.add(r.event_id)
        if r.event_id in applied:
            by_partition[(r.topic, r.partition)].append((r.offset, applied[r.event_id]))
    bad = []
    for (topic, partition), seq in by_partition.items():
        seq.sort()
        latest = None
        for offset, at in seq:
            if latest is not None and at < latest:
                bad.append((topic, partition, offset))
            latest = at if latest is None else max(latest, at)
    return bad


def out_of_order(db_url: str, consumer: str, records: list[invariants.Rec]) -> list[tuple]:
    applied = dict(invariants.rows(db_url, "SELECT event_id, processed_at FROM processed_events WHERE consumer = :c",
                                   c=consumer))
    return order_violations(applied, records)


def worker_inputs(service: str) -> list[str]:
    """The topics the service's worker consumes: its registry readers (tests/unit/scale checks them
    against the code's consume() calls), less the admissions API's alert tail."""
    from shared.topics import registry

    return [name for name, t in registry().items() if service in t.readers and not t.is_dlq
            and (service, name) != ("admissions", "alerts.hospitalist")]


def stable_group(platform: ChaosPlatform, service: str, members: int) -> bool:
    """The group has ``members`` members and every partition of its inputs is assigned to one of them."""
    try:
        got = group_members(platform.settings, platform.group_id(service))
    except Exception:  # noqa: BLE001 - coordinator moving during the rebalance
        return False
    assigned = [tp for _, tps in got for tp in tps]
    want = PARTITIONS * len(worker_inputs(service))
    return len(got) == members and all(tps for _, tps in got) and len(assigned) == len(set(assigned)) == want


def test_scaling_workers_one_three_one_under_load_loses_nothing_and_keeps_member_order(
        kafka_bootstrap, new_database, tmp_path):
    result = CrashRunResult()
    pop = tmp_path / "synth"
    feeds.make_population(pop, members=2000, months=3, seed=29)
    items = feeds.adt_items(pop)
    files = feeds.claim_files(pop)
    history = [f for f in files if f[0] == "history"]
    files = [f for f in files if f[0] != "history"]
    db_urls = {s: new_database() for s in SERVICES}
    platform = ChaosPlatform(kafka_bootstrap, tmp_path / "platform", db_urls, partitions=PARTITIONS)
    pauses: dict[str, float] = {}
    try:
        platform.start()
        api = platform.url(8090)
        assert feeds.load_roster(api, pop / "roster.csv")["rejected"] == 0
        asyncio.run(feeds.send_claims(api, history, result.claims))
        invariants.quiesce(platform.settings, platform.group_id, timeout=300)

        feed_seconds = 100.0
        pace = Pace(max(4.0, len(items) / feed_seconds))
        errors: list[BaseException] = []

        def feed() -> None:
            async def both():
                deadline = time.monotonic() + 1200
                await asyncio.gather(
                    _send_adt_paced(platform.mllp_port, items, result.adt, pace, deadline),
                    feeds.send_claims(api, files, result.claims, pause_between=feed_seconds / len(files),
                                      deadline=deadline))
            try:
                asyncio.run(both())
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        wait_for(lambda: result.adt.acknowledged >= 20, 120, what="the feed running")

        # 1 -> 3
        t = time.monotonic()
        for service in SCALED:
            platform.scale(service, 3)
        for service in SCALED:
            wait_for(lambda: stable_group(platform, service, 3), 180, what=f"{service}: three members sharing partitions")
            pauses[f"{service} 1->3"] = time.monotonic() - t
        platform.wait_healthy(timeout=120)
        consumer_names = {s: invariants.CONSUMERS[s][0] for s in SCALED}
        for service in SCALED:
            ports = {name: platform.port_of(name) for name in platform.sup.workers(service)}
            wait_for(lambda: all(consumer_counts(p, consumer_names[service]).get("processed", 0) > 0
                                 for p in ports.values()), 240, what=f"every {service} worker applying events")
        assert feeder.is_alive(), "the feed ended before the scale-down: make it longer"

        # 3 -> 1
        t = time.monotonic()
        for service in SCALED:
            platform.scale(service, 1)
        for service in SCALED:
            wait_for(lambda: stable_group(platform, service, 1), 180, what=f"{service}: one member with every partition")
            pauses[f"{service} 3->1"] = time.monotonic() - t
        assert feeder.is_alive(), "the feed ended before the scale-down completed: make it longer"
        print(f"\nrebalance (scale command to a stable, fully assigned group): "
              + ", ".join(f"{k} {v:.1f}s" for k, v in pauses.items()))

        pace.rate = None
        feeder.join(900)
        if errors:
            raise errors[0]
        result.not_acknowledged = len(items) - len(result.adt.accepted)
        invariants.quiesce(platform.settings, platform.group_id, timeout=600)
        topics = check(platform, db_urls, pop, items, result)
        result.rebuild_ok, result.rebuild_output = billing_rebuild(platform, db_urls["billing"])
        assert_books_balance(result, 0)
        for service, (consumer, inputs) in invariants.CONSUMERS.items():
            records = [r for t in inputs for r in topics.get(t) or invariants.read_all(platform.settings, t)]
            bad = out_of_order(db_urls[service], consumer, records)
            assert bad == [], f"{service}: events applied out of partition order at {bad[:5]}"
    except BaseException:
        print(platform.log_tails())
        raise
    finally:
        platform.stop()
