"""One crash run: the platform under a synthetic feed while its processes and its broker are
SIGKILLed in turn at random moments; then the books are checked.

Used by tests/reliability/test_crash_cycles.py (short and ``slow`` variants) and by
bench/reliability.py (the ≥ 50-cycle figure).

    result = crash_run(broker, new_database, var_dir, cycles=6, members=800, months=2)
    print(result.figure())
    assert result.lost == 0 and result.duplicate_count == 0 and result.rebuild_ok
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import feeds, invariants
from .chaos_platform import KILLABLE, SERVICES, ChaosPlatform
from .private_broker import PrivateBroker

REPO = Path(__file__).resolve().parents[2]
BROKER = "kafka-broker"


@dataclass
class Pace:
    """Messages per second of the ADT feed (None: as fast as the ACKs come)."""
    rate: float | None


@dataclass
class CrashRunResult:
    cycles: list[tuple[float, str, float]] = field(default_factory=list)  # (t, target, seconds until healthy)
    adt: feeds.AdtTally = field(default_factory=feeds.AdtTally)
    claims: feeds.FileTally = field(default_factory=feeds.FileTally)
    adt_lost: list = field(default_factory=list)
    claims_lost: set = field(default_factory=set)
    consumer_lost: dict = field(default_factory=dict)      # service -> [(topic, event id)]
    dead_lettered: dict = field(default_factory=dict)      # service -> count
    duplicates: dict = field(default_factory=dict)
    effects: dict = field(default_factory=dict)
    rebuild_ok: bool = False
    rebuild_output: str = ""
    sets: dict = field(default_factory=dict)               # effect identities (see invariants.effect_sets)
    restarts: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    not_acknowledged: int = 0                               # ADT messages never accepted by the end

    @property
    def lost(self) -> int:
        return len(self.adt_lost) + len(self.claims_lost) + sum(len(v) for v in self.consumer_lost.values())

    @property
    def duplicate_count(self) -> int:
        return sum(len(v) for v in self.duplicates.values())

    def kills_by_target(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, target, _ in self.cycles:
            out[target] = out.get(target, 0) + 1
        return out

    def figure(self) -> str:
        a = self.adt
        lines = [
            f"kill cycles: {len(self.cycles)} ({', '.join(f'{k} {v}' for k, v in sorted(self.kills_by_target().items()))})",
            f"ADT over MLLP: sent {a.sent} frames, acknowledged {a.acknowledged} messages (AA), "
            f"NAKed {a.naked} (AE, resent), no answer {a.no_answer} (resent), rejected {a.rejected}, "
            f"never acknowledged {self.not_acknowledged}",
            f"claims through the intake API: {self.claims.as_dict()}",
            "effects: " + ", ".join(f"{k} {v}" for k, v in self.effects.items()),
            f"duplicates: {self.duplicate_count}"
            + ("" if not self.duplicate_count else f" {[(k, v[:3]) for k, v in self.duplicates.items() if v]}"),
            f"lost: {self.lost} (ADT acknowledged but not on adt.events {len(self.adt_lost)}, claims acknowledged "
            f"but not on claims.events {len(self.claims_lost)}, events not applied by a consumer "
            f"{ {k: len(v) for k, v in self.consumer_lost.items()} })",
            f"dead-lettered by consumers: {self.dead_lettered}",
            f"ledger rebuilt from the topics equals the live ledger: {self.rebuild_ok}",
            f"restarts by the supervisor: {self.restarts}",
            "seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()),
        ]
        return "\n".join(lines)

    def counts(self) -> dict:
        return {"cycles": len(self.cycles), "sent": self.adt.sent, "acknowledged": self.adt.acknowledged,
                "naked": self.adt.naked, "no_answer": self.adt.no_answer, "effects": self.effects,
                "duplicates": self.duplicate_count, "lost": self.lost}


def schedule(cycles: int, rng: random.Random) -> list[str]:
    """Targets in turn: every killable process and the broker, shuffled per round."""
    targets = [*KILLABLE, BROKER]
    out: list[str] = []
    while len(out) < cycles:
        rnd = targets[:]
        rng.shuffle(rnd)
        out.extend(rnd)
    return out[:cycles]


def short_schedule() -> list[str]:
    """One of each kind: the listener, workers, an API, the broker."""
    return ["admissions-mllp", "admissions-worker", "intake-api", BROKER, "outreach-worker", "billing-worker"]


def crash_run(
    broker: PrivateBroker,
    new_database: Callable[[], str],
    var_dir: Path,
    *,
    cycles: int | list[str] = 6,
    members: int = 800,
    months: int = 2,
    seed: int = 11,
    pause: tuple[float, float] = (0.5, 4.0),
    broker_down: tuple[float, float] = (0.5, 3.0),
    feed_seconds: float | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> CrashRunResult:
    rng = random.Random(seed)
    result = CrashRunResult()
    t0 = time.monotonic()
    pop = var_dir / "synth"
    feeds.make_population(pop, members=members, months=months, seed=seed)
    items = feeds.adt_items(pop)
    files = feeds.claim_files(pop)
    history = [f for f in files if f[0] == "history"]
    files = [f for f in files if f[0] != "history"]
    db_urls = {s: new_database() for s in SERVICES}
    platform = ChaosPlatform(broker.bootstrap, var_dir / "platform", db_urls)
    targets = cycles if isinstance(cycles, list) else schedule(cycles, rng)
    try:
        platform.start()
        result.seconds["platform start"] = time.monotonic() - t0
        log(f"platform up in {result.seconds['platform start']:.0f}s (prefix {platform.prefix})")
        api = platform.url(8090)
        roster = feeds.load_roster(api, pop / "roster.csv")
        assert roster["accepted"] > 0 and roster["rejected"] == 0, roster
        # The history claims (prior years' screenings) and the roster are in before the chaos.
        asyncio.run(feeds.send_claims(api, history, result.claims))
        invariants.quiesce(platform.settings, platform.group_id, timeout=300)
        result.seconds["roster and history loaded"] = time.monotonic() - t0

        # ---- the feed and the chaos, concurrently
        est = feed_seconds or max(20.0, sum(22.0 if t == BROKER else 4.5 for t in targets))
        pace = Pace(max(2.0, len(items) / est) if targets else None)
        feed_error: list[BaseException] = []

        def feed() -> None:
            async def both():
                deadline = time.monotonic() + est * 6 + 600
                claims_pause = est / max(1, len(files)) if targets else 0.0
                await asyncio.gather(
                    _send_adt_paced(platform.mllp_port, items, result.adt, pace, deadline),
                    feeds.send_claims(api, files, result.claims, pause_between=claims_pause, deadline=deadline),
                )
            try:
                asyncio.run(both())
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                feed_error.append(exc)

        feeder = threading.Thread(target=feed, name="feed", daemon=True)
        feeder.start()
        t_chaos = time.monotonic()
        for target in targets:
            time.sleep(rng.uniform(*pause))
            started = time.monotonic()
            if target == BROKER:
                broker.kill()
                time.sleep(rng.uniform(*broker_down))
                broker.start()
                platform.wait_healthy(timeout=240)
            else:
                platform.kill(target)
                platform.wait_healthy([target], timeout=180)
            result.cycles.append((started - t_chaos, target, time.monotonic() - started))
            log(f"cycle {len(result.cycles)}/{len(targets)}: {target} killed, healthy again after "
                f"{time.monotonic() - started:.1f}s; ADT acknowledged {result.adt.acknowledged}/{len(items)}")
        result.seconds["chaos"] = time.monotonic() - t_chaos
        pace.rate = None  # the rest of the feed as fast as it is answered
        feeder.join(timeout=est * 6 + 900)
        if feed_error:
            raise feed_error[0]
        assert not feeder.is_alive(), "the feed did not finish"
        result.seconds["feed"] = time.monotonic() - t_chaos
        result.not_acknowledged = len(items) - len(result.adt.accepted)

        # ---- the books
        result.seconds["quiesce"] = invariants.quiesce(platform.settings, platform.group_id, timeout=600)
        result.restarts = {k: v for k, v in platform.restarts().items() if v}
        topics = check(platform, db_urls, pop, items, result)
        result.rebuild_ok, result.rebuild_output = billing_rebuild(platform, db_urls["billing"])
        result.sets = invariants.effect_sets(db_urls, topics)  # after the rebuild settled the estimates
    except BaseException:
        log(platform.log_tails())
        raise
    finally:
        platform.stop()
    result.seconds["total"] = time.monotonic() - t0
    return result


async def _send_adt_paced(port: int, items, tally: feeds.AdtTally, pace: Pace, deadline: float) -> None:
    # feeds.send_adt takes a fixed rate; the pace changes when the chaos ends, so send in slices.
    i = 0
    while i < len(items):
        if pace.rate is None:
            await feeds.send_adt("127.0.0.1", port, items[i:], tally, deadline=deadline)
            return
        n = max(1, int(pace.rate * 5))
        await feeds.send_adt("127.0.0.1", port, items[i:i + n], tally, rate=pace.rate, deadline=deadline)
        i += n


def check(platform: ChaosPlatform, db_urls: dict[str, str], pop: Path, items, result: CrashRunResult) -> dict:
    settings = platform.settings
    topics: dict[str, list] = {}
    for name in ("adt.events", "claims.events", "alerts.hospitalist", "care.transitions", "outreach.tasks"):
        topics[name] = invariants.read_all(settings, name)
    result.adt_lost = invariants.acked_not_on_topic(result.adt.accepted, topics["adt.events"])
    expected_claims: set = set()
    labels = {}
    for label, path in feeds.claim_files(pop):
        labels.setdefault(label, []).append(path.name)
    from carectl.synth import iter_claim_batches

    for t in iter_claim_batches(pop):
        names = labels.get(t.data.label, [])
        if names and all(n in result.claims.acknowledged for n in names):
            expected_claims |= feeds.claims_in_batch(t.data.path_csv)
    # (The generator's claims are valid: the tests assert that the ingest rejected none.)
    result.claims_lost = invariants.claims_not_on_topic(expected_claims, topics["claims.events"])
    for cov in invariants.coverage(settings, db_urls, topics):
        result.consumer_lost[cov.service] = cov.missing
        result.dead_lettered[cov.service] = cov.dead_lettered
    result.duplicates = invariants.duplicates(settings, db_urls, topics)
    result.effects = invariants.effects(db_urls, topics)
    return topics


def billing_rebuild(platform: ChaosPlatform, url: str) -> tuple[bool, str]:
    """``python -m services.billing rebuild`` against the live ledger (exit 0: equal to the cent)."""
    env = dict(platform.env, DATABASE_URL=url)
    proc = subprocess.run([sys.executable, "-m", "services.billing", "rebuild"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    return proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

