"""The merged timeline and the pacing of a replay."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from carectl.synth import (Pacer, RateClock, ReplayClock, iter_timeline, load_manifest, paced, speedup_for)


def test_timeline_is_in_time_order_with_every_kind(small_dir):
    items = list(iter_timeline(small_dir))
    assert [i.at for i in items] == sorted(i.at for i in items)
    kinds = [i.kind for i in items]
    assert kinds[0] == "roster" and kinds[1] == "claims" and items[1].data.label == "history"
    m = load_manifest(small_dir)
    assert kinds.count("adt") == m["counts"]["adt_messages"]
    assert kinds.count("claims") == len(m["files"]["claims"])
    assert kinds.count("roster") == len(m["files"]["rosters"]) == 3
    assert all(i.at.tzinfo is not None for i in items)


def test_timeline_window_keeps_one_month(small_dir):
    tz = iter_timeline(small_dir).__next__().at.tzinfo
    lo, hi = datetime(2026, 2, 1, tzinfo=tz), datetime(2026, 3, 1, tzinfo=tz)
    items = list(iter_timeline(small_dir, start=lo, end=hi, kinds=("adt", "claims")))
    assert items and all(lo <= i.at < hi for i in items)
    assert {i.kind for i in items} == {"adt", "claims"}
    assert sum(1 for i in items if i.kind == "adt") == load_manifest(small_dir)["files"]["adt"][1]["messages"]


def test_claim_batch_items_point_at_existing_files(small_dir):
    for it in iter_timeline(small_dir, kinds=("claims",)):
        b = it.data
        assert b.path_csv.exists()
        assert b.path_837p is None or b.path_837p.exists()
        assert b.claims > 0 and b.lines >= b.claims


T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_speedup_for_a_month_in_five_minutes():
    assert speedup_for(timedelta(days=30), 300) == pytest.approx(8640)
    with pytest.raises(ValueError):
        speedup_for(timedelta(days=1), 0)


def test_replay_clock_compresses_simulated_time():
    c = ReplayClock(speedup=3600)  # an hour a second
    assert c.due(T0) == 0
    assert c.due(T0 + timedelta(hours=2)) == pytest.approx(2.0)
    assert c.due(T0 + timedelta(hours=1)) == pytest.approx(2.0), "never earlier than an item already due"


def test_replay_clock_caps_quiet_stretches():
    c = ReplayClock(speedup=60, max_gap=0.5)
    assert c.due(T0) == 0
    assert c.due(T0 + timedelta(seconds=15)) == pytest.approx(0.25)
    assert c.due(T0 + timedelta(hours=8)) == pytest.approx(0.75)   # a night shrinks to max_gap
    assert c.due(T0 + timedelta(hours=8, seconds=30)) == pytest.approx(1.25)


def test_rate_clock_spaces_items_evenly():
    c = RateClock(200)
    assert [c.due() for _ in range(3)] == [0, 0.005, 0.01]
    with pytest.raises(ValueError):
        RateClock(0)


class FakeTime:
    def __init__(self):
        self.t = 100.0
        self.sleeps: list[float] = []

    def now(self):
        return self.t

    async def sleep(self, s):
        self.sleeps.append(s)
        self.t += s


def test_pacer_sleeps_until_due_and_reports_lateness():
    ft = FakeTime()
    p = Pacer(RateClock(10), now=ft.now, sleep=ft.sleep)

    async def run():
        await p.wait()
        await p.wait()
        ft.t += 0.5          # the consumer was slow
        await p.wait()       # due at 0.2, now 0.6 → no sleep, 0.4 behind
        await p.wait()       # due at 0.3 → still behind

    asyncio.run(run())
    assert ft.sleeps == [pytest.approx(0.1)]
    assert p.max_behind == pytest.approx(0.4)
    assert p.count == 4


def test_paced_replays_items_by_their_times():
    ft = FakeTime()

    class It:
        def __init__(self, at):
            self.at = at

    items = [It(T0), It(T0 + timedelta(minutes=1)), It(T0 + timedelta(minutes=3))]

    async def run():
        return [i async for i in paced(items, speedup=60, now=ft.now, sleep=ft.sleep)]

    out = asyncio.run(run())
    assert out == items
    assert ft.sleeps == [pytest.approx(1.0), pytest.approx(2.0)]
    with pytest.raises(ValueError):
        asyncio.run(anext(paced(items, speedup=1, rate=1)))
