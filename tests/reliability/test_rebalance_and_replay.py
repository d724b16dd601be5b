"""Rebalance and redelivery, on the admissions worker (adt.events + members.roster → alerts,
encounters, care transitions):

- two worker processes in one consumer group share the partitions; both are caught in the
  middle of a batch (their transactions wait on a table lock the test holds), one is SIGKILLed
  there and not restarted; the other finishes, takes the dead one's partitions over and
  applies its uncommitted batch again. The result equals that of a single worker given the
  same events without any crash (a reference run on its own topics and database): nothing
  lost, no duplicate alert or transition (final states compared; see invariants.effect_sets
  for what depends on the order of partitions even without a crash);
- every record of both input topics is then produced again, from offset 0, into the running
  worker: the database is unchanged row for row and no derived event is written.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from sqlalchemy import create_engine, text

from shared.kafka import EventProducer
from shared.kafka_admin import delete_topics
from tests.reliability.chaos_platform import create_topics, remove_faust_dirs
from tests.reliability.feeds import make_population
from tests.reliability.invariants import group_lag, merged_visits, processed_ids, read_all, transitions_state
from tests.reliability.worker_tools import (
    adt_events, consumer_counts, group_members, now, produce_again, roster_events, snapshot,
)
from tests.support.procs import free_port, start_process, wait_for
from tests.support.infra import new_topic_prefix

pytestmark = pytest.mark.timeout(900)

CONSUMER = "admissions.worker"
INPUTS = ("members.roster", "adt.events")
TABLES = ("alerts", "encounters", "census", "patient_states", "members", "crosswalk", "processed_events")
DERIVED = ("alerts.hospitalist", "care.transitions")


class Side:
    """One consumer group on its own topics and database."""

    def __init__(self, bootstrap: str, db_url: str, tmp_path, partitions: int) -> None:
        self.prefix = new_topic_prefix("rb", 8)
        self.settings = create_topics(bootstrap, self.prefix, partitions)
        self.db_url = db_url
        self.tmp = tmp_path
        self.procs = []

    def env(self, **extra) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap, "TOPIC_PREFIX": self.prefix,
                "DATABASE_URL": self.db_url, "WORKER_NICE": "0", **extra}

    def migrate(self) -> None:
        """The explicit schema step first, as the supervisor does (two workers starting at once on an
        empty database race on CREATE TABLE: see the report of this suite)."""
        proc = start_process("admissions", "migrate", self.env(), self.tmp, http_port=None)
        assert proc.popen.wait(120) == 0, proc.log()

    def start_worker(self):
        port = free_port()
        proc = start_process("admissions", "worker", self.env(WORKER_PORT=str(port)), self.tmp, http_port=port)
        self.procs.append(proc)
        return proc

    @property
    def group(self) -> str:
        return f"{self.prefix}ccp-admissions-worker"  # AdmissionsSettings.group_id()

    def produce(self, events) -> None:
        producer = EventProducer(self.settings, "reliability-test")
        try:
            for i in range(0, len(events), 2000):
                producer.send_sync(events[i:i + 2000])
        finally:
            producer.close()

    def caught_up(self) -> bool:
        return group_lag(self.settings, self.group, INPUTS) == 0

    def close(self) -> None:
        for p in self.procs:
            p.stop()
        delete_topics(self.settings, [self.settings.topic(t) for t in (*INPUTS, *DERIVED)])
        remove_faust_dirs(self.prefix)


def lock_waiters(url: str) -> int:
    """Worker transactions of this database waiting on a lock."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")).scalar()
    finally:
        engine.dispose()


EFFECTS = {
    "alerts": "SELECT alert_id, member_id, kind, encounter_key, status, readmission, event_time FROM alerts",
    "encounters": "SELECT owner, encounter_key, member_id, status, patient_class, admit_time, discharge_time "
                  "FROM encounters",
    "census": "SELECT member_id, encounter_key, facility, since FROM census",
}


def effects(url: str, temporary: set[str]) -> dict[str, list]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {name: sorted(map(tuple, conn.execute(text(sql))), key=repr) for name, sql in EFFECTS.items()}
    finally:
        engine.dispose()
    out["alerts"] = [a for a in out["alerts"] if a[3] not in temporary]
    return out


def natural_duplicates(side: Side) -> list:
    dups = []
    raised, transitions = defaultdict(set), defaultdict(set)
    for r in read_all(side.settings, "alerts.hospitalist"):
        b = r.body()
        if b["event_type"] == "alert.raised":
            raised[(b["member_id"], b["encounter_key"], b["kind"])].add(b["alert_id"])
    for r in read_all(side.settings, "care.transitions"):
        b = r.body()
        if b["event_type"] == "care.transition":
            transitions[(b["member_id"], b["encounter_key"], b["discharge_time"])].add(b["transition_id"])
    dups += [("alert", k) for k, v in raised.items() if len(v) > 1]
    dups += [("transition", k) for k, v in transitions.items() if len(v) > 1]
    engine = create_engine(side.db_url)
    with engine.connect() as conn:
        dups += [("alert row", tuple(r)) for r in conn.execute(text(
            "SELECT member_id, encounter_key, kind, count(*) FROM alerts "
            "GROUP BY member_id, encounter_key, kind HAVING count(*) > 1"))]
    engine.dispose()
    return dups


def test_worker_killed_mid_batch_other_takes_over_then_replay_from_offset_zero_changes_nothing(
        kafka_bootstrap, new_database, tmp_path):
    pop = tmp_path / "synth"
    make_population(pop, members=3000, months=6, seed=5)
    roster = roster_events(pop / "roster.csv", now())
    adts = adt_events(pop, now())
    run = Side(kafka_bootstrap, new_database(), tmp_path, partitions=4)
    ref = Side(kafka_bootstrap, new_database(), tmp_path, partitions=4)
    try:
        run.migrate()
        ref.migrate()
        a, b, r = run.start_worker(), run.start_worker(), ref.start_worker()
        for p in (a, b, r):
            p.wait_healthy(timeout=120)
        wait_for(lambda: len(m := group_members(run.settings, run.group)) == 2 and all(x[1] for x in m),
                 timeout=120, what="both workers in the group with partitions")

        # Roster first (the ADT matches members through it), then all the ADT at once.
        run.produce(roster)
        ref.produce(roster)
        wait_for(lambda: run.caught_up() and ref.caught_up(), 180, what="roster applied")
        ref.produce(adts)

        # Hold the patient states: every ADT batch locks its members' states (FOR UPDATE) and
        # waits, inside its transaction, with its records taken from the stream.
        holder = create_engine(run.db_url).connect()
        tx = holder.begin()
        holder.execute(text("LOCK TABLE patient_states IN EXCLUSIVE MODE"))
        try:
            run.produce(adts)
            wait_for(lambda: lock_waiters(run.db_url) >= 2, 120, what="both workers waiting inside a batch")
            victim, survivor = a, b
            victim.kill()
            killed_at = time.monotonic()
        finally:
            tx.rollback()
            holder.close()

        # The survivor finishes its batch, gets the dead worker's partitions and applies them.
        wait_for(lambda: len(m := group_members(run.settings, run.group)) == 1
                 and len(m[0][1]) == 2 * 4, timeout=180, what="the survivor owning every partition")
        takeover = time.monotonic() - killed_at
        wait_for(run.caught_up, 300, what="the run caught up")
        wait_for(ref.caught_up, 300, what="the reference caught up")
        print(f"\ntakeover after the kill: {takeover:.1f}s (partitions reassigned to the survivor)")

        # Nothing lost, nothing applied twice: same effects as the crash-free reference.
        ids = {rec.event_id for t in INPUTS for rec in read_all(run.settings, t)}
        assert ids - processed_ids(run.db_url, CONSUMER) == set()
        assert natural_duplicates(run) == []
        temporary = merged_visits(read_all(run.settings, "adt.events"))  # see invariants.merged_visits
        got, want = effects(run.db_url, temporary), effects(ref.db_url, temporary)
        for name in want:
            assert got[name] == want[name], f"{name} differ from the crash-free run"
        # Final states of the published transitions and readmissions (their event histories may
        # differ: which hospital's events came first decides what was published, then corrected).
        assert transitions_state(read_all(run.settings, "care.transitions")) == \
            transitions_state(read_all(ref.settings, "care.transitions"))
        assert len(got["alerts"]) > 0 and len(got["encounters"]) > 0

        # Replay: every input record again, into the running survivor.
        before = snapshot(run.db_url, TABLES)
        marks_before = {t: sum(hi for _, hi in _marks(run, t).values()) for t in DERIVED}
        dup_before = consumer_counts(survivor.http_port, CONSUMER).get("duplicate", 0)
        records = [rec for t in INPUTS for rec in read_all(run.settings, t)]
        produce_again(run.settings, records)
        wait_for(run.caught_up, 300, what="the replay consumed")
        wait_for(lambda: consumer_counts(survivor.http_port, CONSUMER).get("duplicate", 0) - dup_before
                 >= len(records), 60, what="every replayed record counted as a duplicate")
        assert snapshot(run.db_url, TABLES) == before
        assert {t: sum(hi for _, hi in _marks(run, t).values()) for t in DERIVED} == marks_before
        assert survivor.alive()
    finally:
        run.close()
        ref.close()


def _marks(side: Side, name: str):
    from tests.reliability.invariants import high_watermarks

    return high_watermarks(side.settings, side.settings.topic(name))
