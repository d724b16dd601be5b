"""Broker failover under load: the whole platform on a private three-node cluster (RF 3,
min.insync.replicas 2, acks=all) takes a steady ADT feed over MLLP and 837 files through the
intake API while, in turn,

1. the broker leading ``adt.events`` partition 0 is SIGKILLed; ingest stalls until the
   controller fences it and moves leadership to an in-sync replica, then resumes; the node is
   restarted and catches up (every partition back to its full in-sync replica set);
2. the active controller (the KRaft quorum's leader) is SIGKILLed the same way; the two other
   voters elect a new leader; the node is restarted and catches up.

Then the books (crash_run.check): every ADT message answered AA is on adt.events and applied
once, every claim of an acknowledged file is on claims.events, every event was applied or
dead-lettered by each consumer, no duplicate alert, task or ledger line, and the ledger rebuilt
from the topics equals the live one. ``unavailable`` holds, per kill, the longest time without
an AA from the kill until the feed moved again (what a hospital's interface engine sees).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import feeds, invariants
from .chaos_platform import SERVICES, ChaosPlatform
from .crash_run import CrashRunResult, Pace, _send_adt_paced, billing_rebuild, check
from .private_cluster import PrivateCluster
from tests.support.procs import wait_for


@dataclass
class FailoverResult(CrashRunResult):
    kills: list[dict] = field(default_factory=list)  # {"role", "node", "unavailable_s", "restart_s", "caught_up_s"}

    def failover_figure(self) -> str:
        rows = [f"{k['role']} (node {k['node']}): ingest unavailable {k['unavailable_s']:.1f} s; node restarted in "
                f"{k['restart_s']:.1f} s, in sync again {k['caught_up_s']:.1f} s after its restart" for k in self.kills]
        return "\n".join(rows)


def _ack_times(tally: feeds.AdtTally) -> list[float]:
    return sorted(tally.accepted.values())


def unavailable_since(tally: feeds.AdtTally, killed_at: float, resumed_at: float) -> float:
    """Longest stretch without an accepted message between the last AA before the kill and the
    first AAs after it (wall-clock seconds; the feed paces messages a fraction of a second apart)."""
    times = [t for t in _ack_times(tally) if t <= resumed_at]
    before = [t for t in times if t <= killed_at]
    after = [t for t in times if t > killed_at]
    points = ([before[-1]] if before else [killed_at]) + after
    gaps = [b - a for a, b in zip(points, points[1:])]
    return max(gaps) if gaps else 0.0


def failover_run(cluster: PrivateCluster, new_database: Callable[[], str], var_dir: Path, *, members: int = 2000,
                 months: int = 3, seed: int = 17, feed_seconds: float = 110.0,
                 log: Callable[[str], None] = lambda s: None) -> FailoverResult:
    result = FailoverResult()
    t0 = time.monotonic()
    pop = var_dir / "synth"
    feeds.make_population(pop, members=members, months=months, seed=seed)
    items = feeds.adt_items(pop)
    files = feeds.claim_files(pop)
    history = [f for f in files if f[0] == "history"]
    files = [f for f in files if f[0] != "history"]
    db_urls = {s: new_database() for s in SERVICES}
    platform = ChaosPlatform(cluster.bootstrap, var_dir / "platform", db_urls)
    try:
        platform.start()
        settings = platform.settings
        adt = settings.topic("adt.events")
        replicas, min_isr = cluster.replication_of(settings, adt)
        assert (replicas, min_isr) == (3, "2"), f"adt.events has {replicas} replicas, min ISR {min_isr}"
        result.seconds["platform start"] = time.monotonic() - t0
        api = platform.url(8090)
        roster = feeds.load_roster(api, pop / "roster.csv")
        assert roster["accepted"] > 0 and roster["rejected"] == 0, roster
        asyncio.run(feeds.send_claims(api, history, result.claims))
        invariants.quiesce(settings, platform.group_id, timeout=300)
        log(f"platform up, roster and history in after {time.monotonic() - t0:.0f}s (prefix {platform.prefix})")

        pace = Pace(max(4.0, len(items) / feed_seconds))
        feed_error: list[BaseException] = []

        def feed() -> None:
            async def both():
                deadline = time.monotonic() + feed_seconds * 6 + 600
                await asyncio.gather(
                    _send_adt_paced(platform.mllp_port, items, result.adt, pace, deadline),
                    feeds.send_claims(api, files, result.claims, pause_between=feed_seconds / max(1, len(files)),
                                      deadline=deadline),
                )
            try:
                asyncio.run(both())
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                feed_error.append(exc)

        feeder = threading.Thread(target=feed, name="feed", daemon=True)
        feeder.start()

        def acked() -> int:
            return result.adt.acknowledged

        def kill_and_recover(role: str, node: int) -> None:
            wait_for(lambda: not cluster.under_replicated(settings, platform.prefix), 180,
                     what="every partition fully in sync before the kill")
            wait_for(lambda: acked() >= 20 or not feeder.is_alive(), 120, what="the feed running")
            assert feeder.is_alive(), "the feed ended before the kill: make it longer"
            before = acked()
            killed_wall, killed = time.time(), time.monotonic()
            cluster.kill(node)
            log(f"{role}: node {node} SIGKILLed with {before} messages acknowledged")
            # ingest resumes: the feed gets AAs again with the node still down
            wait_for(lambda: acked() >= before + 10 or not feeder.is_alive(), 240,
                     what=f"ingest resuming after the {role} kill")
            assert acked() >= before + 10, f"the feed ended while the {role} was down: make it longer"
            resumed_wall = time.time()
            unavailable = unavailable_since(result.adt, killed_wall, resumed_wall)
            log(f"{role}: ingest resumed; longest stretch without an AA {unavailable:.1f}s "
                f"(leaders now {cluster.leaders(settings, adt)})")
            restart_s = cluster.restart(node)
            back = time.monotonic()
            wait_for(lambda: not cluster.under_replicated(settings, platform.prefix), 300,
                     what=f"node {node} caught up (every partition fully in sync)")
            result.kills.append({"role": role, "node": node, "unavailable_s": unavailable, "restart_s": restart_s,
                                 "caught_up_s": time.monotonic() - back, "down_s": back - killed})
            log(f"{role}: node {node} back and in sync {time.monotonic() - back:.1f}s after its restart")

        t_chaos = time.monotonic()
        kill_and_recover("partition leader of adt.events[0]", cluster.leader(settings, adt, 0))
        kill_and_recover("active controller", cluster.controller())
        result.seconds["failovers"] = time.monotonic() - t_chaos
        pace.rate = None
        feeder.join(timeout=feed_seconds * 6 + 900)
        if feed_error:
            raise feed_error[0]
        assert not feeder.is_alive(), "the feed did not finish"
        result.not_acknowledged = len(items) - len(result.adt.accepted)
        result.seconds["quiesce"] = invariants.quiesce(settings, platform.group_id, timeout=600)
        result.restarts = {k: v for k, v in platform.restarts().items() if v}
        check(platform, db_urls, pop, items, result)
        result.rebuild_ok, result.rebuild_output = billing_rebuild(platform, db_urls["billing"])
    except BaseException:
        log(platform.log_tails())
        raise
    finally:
        platform.stop()
    result.seconds["total"] = time.monotonic() - t0
    return result
