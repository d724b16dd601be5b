"""Crashes under load: the whole platform (carectl's supervisor, every process on PostgreSQL,
a private Kafka broker) takes ADT over MLLP and 837 files through the intake API while the MLLP
listener, the faust workers, the APIs and the broker are SIGKILLed in turn at random moments and
restarted. Afterwards:

- every ADT message answered AA is on adt.events, every claim of an acknowledged file on
  claims.events, and every event on every topic was applied (processed_events) or
  dead-lettered by each of its consumers: zero acknowledged-then-lost;
- one alert per (member, encounter, kind), one care transition per discharge, one open task
  per task key and one task per (key, cause), one ledger entry per (source event, key,
  reversed entry): zero duplicate side effects;
- ``python -m services.billing rebuild`` exits 0 (the ledger rebuilt from the topics equals the
  live ledger to the cent);
- (slow) the effects' final states equal those of a crash-free run of the same feed (see
  invariants.effect_sets for what depends on timing even without crashes and is left out).

The short case (6 kills, one of each kind) runs in the default suite; the 50-cycle case is
``slow`` (and ``python bench/reliability.py`` prints its figures).
"""

from __future__ import annotations

import pytest

from tests.reliability.crash_run import BROKER, CrashRunResult, crash_run, short_schedule
from tests.reliability.invariants import compare_sets

pytestmark = pytest.mark.timeout(1800)


def assert_books_balance(result: CrashRunResult, n_kills: int) -> None:
    print("\n" + result.figure())
    a = result.adt
    assert len(result.cycles) == n_kills
    assert result.not_acknowledged == 0, f"{result.not_acknowledged} ADT messages never accepted"
    assert a.rejected == 0, f"clean messages rejected: {a.codes}"
    assert result.claims.as_dict()["claims_rejected"] == 0, result.claims.acknowledged
    assert result.adt_lost == [], f"ACKed but not on adt.events: {result.adt_lost[:10]}"
    assert result.claims_lost == set(), f"acknowledged claims not on claims.events: {sorted(result.claims_lost)[:10]}"
    for service, missing in result.consumer_lost.items():
        assert missing == [], f"{service}: {len(missing)} events never applied, e.g. {missing[:5]}"
    for kind, dups in result.duplicates.items():
        assert dups == [], f"duplicate {kind}: {dups[:5]}"
    assert result.rebuild_ok, result.rebuild_output
    # The feed is big enough to have every kind of effect.
    e = result.effects
    assert e["alerts"] > 0 and e["transitions"] > 0 and e["tcm_tasks"] > 0 and e["ledger_entries"] > 0, e
    # Each process killed was restarted by the supervisor (the broker by the test).
    for name, n in result.kills_by_target().items():
        if name != BROKER:
            assert result.restarts.get(name, 0) >= n, (name, result.restarts)


def test_one_kill_of_each_kind_loses_nothing_and_applies_nothing_twice(private_broker, new_database, tmp_path):
    schedule = short_schedule()
    result = crash_run(private_broker, new_database, tmp_path, cycles=schedule, members=1500, months=2, seed=11,
                       log=print)
    assert_books_balance(result, len(schedule))
    assert result.adt.naked >= 1, "the broker outage should have been answered with AE"


@pytest.mark.slow
def test_fifty_kill_cycles_match_a_crash_free_run_of_the_same_feed(private_broker, new_database, tmp_path):
    kw = dict(members=3000, months=3, seed=23, log=print)
    reference = crash_run(private_broker, new_database, tmp_path / "reference", cycles=[], **kw)
    assert_books_balance(reference, 0)
    result = crash_run(private_broker, new_database, tmp_path / "crashes", cycles=50, **kw)
    assert_books_balance(result, 50)
    differences = compare_sets(reference.sets, result.sets)
    assert differences == {}, differences
