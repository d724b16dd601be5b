"""What must hold after a crash run, read from the topics and the services' databases.

- ``read_all``: every record of a topic up to its high watermarks;
- ``quiesce``: wait until every worker's consumer group has committed up to the end of each
  of its input topics (twice in a row, a few seconds apart: derived events are consumed too);
- ``coverage``: every event on a consumer's input topics is in its ``processed_events`` or was
  dead-lettered by it (nothing consumed-then-lost);
- ``duplicates``: one alert per (member, encounter, kind), one open task per task key, one task
  per (task key, cause), one ledger entry per (source event, ledger key, reversed entry), and
  the same on the derived topics (distinct event ids per natural key);
- ``effects``: the counts of alerts, transitions, TCM tasks and ledger entries.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import create_engine, text

# service -> (consumer name in processed_events, its input topics)
CONSUMERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admissions": ("admissions.worker", ("members.roster", "adt.events")),
    "gaps": ("gaps.worker", ("members.roster", "claims.events", "care.transitions")),
    "outreach": ("outreach.tasks", ("gaps.events", "care.transitions", "members.roster", "claims.events",
                                    "portal.messages", "risk.tiers")),
    "billing": ("billing.ledger", ("members.roster", "claims.events", "gaps.events", "care.transitions",
                                   "outreach.tasks", "risk.tiers")),
}
TERMINAL_TASK = ("done", "unable_to_reach", "cancelled")


@dataclass(frozen=True)
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name and v is not None:
                return v.decode("utf-8", "replace")
        return None

    @property
    def event_id(self) -> str | None:
        eid = self.header("event_id")
        if eid:
            return eid
        try:
            return str(json.loads(self.value)["event_id"])
        except (TypeError, ValueError, KeyError):
            return None

    def body(self) -> dict:
        return json.loads(self.value)


def _consumer(settings, **extra):
    from confluent_kafka import Consumer

    return Consumer({**settings.kafka_client_config(), "group.id": f"reliability-{uuid.uuid4()}",
                     "enable.auto.commit": False, "auto.offset.reset": "earliest", **extra})


def high_watermarks(settings, topic: str) -> dict[int, tuple[int, int]]:
    from confluent_kafka import TopicPartition

    c = _consumer(settings)
    try:
        md = c.list_topics(topic, timeout=15).topics[topic]
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=15) for p in md.partitions}
    finally:
        c.close()


def read_all(settings, name: str, *, prefixed: bool = False, timeout: float = 60) -> list[Rec]:
    """Every record of a topic (registry name unless ``prefixed``) up to the current high watermarks."""
    from confluent_kafka import TopicPartition

    topic = name if prefixed else settings.topic(name)
    marks = high_watermarks(settings, topic)
    todo = {p: hi for p, (lo, hi) in marks.items() if hi > lo}
    out: list[Rec] = []
    if not todo:
        return out
    c = _consumer(settings)
    try:
        c.assign([TopicPartition(topic, p, marks[p][0]) for p in todo])
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.5):
                if m.error():
                    continue
                p = m.partition()
                if p not in todo or m.offset() >= todo[p]:
                    continue
                out.append(Rec(m.topic(), p, m.offset(), m.key(), m.value(), tuple(m.headers() or ())))
                if m.offset() + 1 >= todo[p]:
                    del todo[p]
        if todo:
            raise AssertionError(f"could not read {topic} to its end within {timeout}s")
    finally:
        c.close()
    return out


def group_lag(settings, group: str, topics: tuple[str, ...]) -> int | None:
    """Records not yet committed by ``group`` on ``topics`` (None when it has committed nothing there)."""
    from confluent_kafka import TopicPartition

    c = _consumer(settings, **{"group.id": group})
    try:
        parts = []
        ends = {}
        for t in topics:
            topic = settings.topic(t)
            for p, (lo, hi) in high_watermarks(settings, topic).items():
                parts.append(TopicPartition(topic, p))
                ends[(topic, p)] = (lo, hi)
        committed = c.committed(parts, timeout=15)
    finally:
        c.close()
    lag = 0
    for tp in committed:
        lo, hi = ends[(tp.topic, tp.partition)]
        pos = tp.offset if tp.offset >= 0 else lo
        lag += max(0, hi - pos)
    return lag


def quiesce(settings, group_of, timeout: float = 300, settle: float = 4.0, services=tuple(CONSUMERS)) -> float:
    """Wait until every worker group is caught up, twice ``settle`` seconds apart; returns the wait."""
    started = time.monotonic()
    deadline = started + timeout
    streak = 0
    last = {}
    while time.monotonic() < deadline:
        try:
            last = {s: group_lag(settings, group_of(s), CONSUMERS[s][1]) for s in services}
        except Exception as exc:  # noqa: BLE001 - broker restarting: try again
            last = {"error": repr(exc)}
        if last and all(v == 0 for v in last.values()):
            streak += 1
            if streak >= 2:
                return time.monotonic() - started
            time.sleep(settle)
        else:
            streak = 0
            time.sleep(1.0)
    raise AssertionError(f"workers did not catch up within {timeout}s: lag {last}")


# --------------------------------------------------------------------------- databases
def rows(url: str, sql: str, **params) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def processed_ids(url: str, consumer: str) -> set[str]:
    return {r[0] for r in rows(url, "SELECT event_id FROM processed_events WHERE consumer = :c", c=consumer)}


# --------------------------------------------------------------------------- checks
@dataclass
class Coverage:
    service: str
    events: int
    processed: int
    dead_lettered: int
    missing: list[tuple[str, str]]  # (topic, event id)


def coverage(settings, db_urls: dict[str, str], topics: dict[str, list[Rec]] | None = None) -> list[Coverage]:
    topics = topics if topics is not None else {}

    def recs(name: str) -> list[Rec]:
        if name not in topics:
            topics[name] = read_all(settings, name)
        return topics[name]

    out = []
    for service, (consumer, inputs) in CONSUMERS.items():
        done = processed_ids(db_urls[service], consumer)
        dead = set()
        for t in inputs:
            for r in recs(t + ".dlq"):
                if r.header("dlq.consumer") == consumer:
                    dead.add(r.event_id)
        missing, n, nd = [], 0, 0
        for t in inputs:
            for r in recs(t):
                n += 1
                eid = r.event_id
                if eid in done:
                    continue
                if eid in dead:
                    nd += 1
                    continue
                missing.append((t, eid))
        out.append(Coverage(service, n, len(done), nd, missing))
    return out


def duplicates(settings, db_urls: dict[str, str], topics: dict[str, list[Rec]]) -> dict[str, list]:
    """Natural keys with more than one effect, per kind of effect (empty lists when all is well)."""
    out: dict[str, list] = {}
    out["alert rows per (member, encounter, kind)"] = [tuple(r) for r in rows(db_urls["admissions"], """
        SELECT member_id, encounter_key, kind, count(*) FROM alerts
        GROUP BY member_id, encounter_key, kind HAVING count(*) > 1""")]
    raised = defaultdict(set)
    for r in topics["alerts.hospitalist"]:
        b = r.body()
        if b.get("event_type") == "alert.raised":
            raised[(b["member_id"], b["encounter_key"], b["kind"])].add(b["alert_id"])
    out["alert.raised alert ids per (member, encounter, kind)"] = [k for k, v in raised.items() if len(v) > 1]
    transitions = defaultdict(set)
    for r in topics["care.transitions"]:
        b = r.body()
        if b.get("event_type") == "care.transition":
            transitions[(b["member_id"], b["encounter_key"], b["discharge_time"])].add(b["transition_id"])
    out["care.transition ids per (member, encounter, discharge)"] = [k for k, v in transitions.items() if len(v) > 1]
    out["open tasks per task key"] = [tuple(r) for r in rows(db_urls["outreach"], f"""
        SELECT task_key, count(*) FROM tasks WHERE status NOT IN {TERMINAL_TASK}
        GROUP BY task_key HAVING count(*) > 1""")]
    out["tasks per (task key, cause)"] = [tuple(r) for r in rows(db_urls["outreach"], """
        SELECT task_key, cause_event_id, count(*) FROM tasks
        GROUP BY task_key, cause_event_id HAVING count(*) > 1""")]
    created = defaultdict(set)
    for r in topics["outreach.tasks"]:
        b = r.body()
        if b.get("from_status") is None:
            created[b["task_id"]].add(b["event_id"])
    out["task created events per task"] = [k for k, v in created.items() if len(v) > 1]
    out["ledger entries per (source event, key, reverses)"] = [tuple(r) for r in rows(db_urls["billing"], """
        SELECT source_event_id, contract_id, period, account, member_id, rule, reverses, count(*)
        FROM ledger_entries
        GROUP BY source_event_id, contract_id, period, account, member_id, rule, reverses HAVING count(*) > 1""")]
    return out


def effects(db_urls: dict[str, str], topics: dict[str, list[Rec]]) -> dict[str, int]:
    kinds = Counter(r.body().get("event_type") for r in topics["care.transitions"])
    n = {
        "alerts": rows(db_urls["admissions"], "SELECT count(*) FROM alerts")[0][0],
        "transitions": len({r.event_id for r in topics["care.transitions"]
                            if r.header("event_type") == "care.transition"}),
        "tcm_tasks": rows(db_urls["outreach"], "SELECT count(*) FROM tasks WHERE kind = 'tcm'")[0][0],
        "tasks": rows(db_urls["outreach"], "SELECT count(*) FROM tasks")[0][0],
        "ledger_entries": rows(db_urls["billing"], "SELECT count(*) FROM ledger_entries")[0][0],
    }
    n["care_transition_events"] = sum(kinds.values())
    return n


def acked_not_on_topic(accepted_keys, adt_records: list[Rec]) -> list[tuple[str, str]]:
    """ACKed (facility, MSH-10) whose event (id = uuid5 of both) is not on adt.events."""
    from services.admissions.domain.adt_event import adt_event_id

    on_topic = {r.event_id for r in adt_records}
    return [k for k in accepted_keys if str(adt_event_id(*k)) not in on_topic]


def claims_not_on_topic(expected: set[tuple[str, str]], claim_records: list[Rec]) -> set[tuple[str, str]]:
    seen = set()
    for r in claim_records:
        b = r.body()
        seen.add((b["claim_id"], b["frequency_code"]))
    return expected - seen


def transitions_state(records: list[Rec]) -> set:
    """The care transitions and readmissions as their last events leave them (a transition whose
    readmission flag changed is published again under the same transition id)."""
    transitions, readmissions = {}, {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        b = r.body()
        kind = b.get("event_type")
        if kind == "care.transition":
            transitions[b["transition_id"]] = (b["member_id"], b["encounter_key"], b["readmission"], b["index_stay"],
                                               b["tcm_applicable"], b["contact_due"], True)
        elif kind == "care.transition_cancelled" and b["transition_id"] in transitions:
            transitions[b["transition_id"]] = transitions[b["transition_id"]][:-1] + (False,)
        elif kind == "care.readmission":
            readmissions[b["readmission_id"]] = (b["member_id"], b["index_encounter_key"], b["readmit_encounter_key"],
                                                 b["retracted"])
    return ({("transition", k, *v) for k, v in transitions.items()}
            | {("readmission", k, *v) for k, v in readmissions.items()})


def merged_visits(adt_records: list[Rec]) -> set[str]:
    """Encounter keys of visits registered under a patient key an A40 later merged away (a
    temporary MRN). Whether such a visit gets an alert depends on whether its registration or the
    A40 is applied first (different keys, different partitions): in time order the patient is not
    yet matched while the visit is open (no alert), after the A40 it is. Their care transitions,
    readmissions and encounters do not depend on it (tests/reliability/test_cross_partition_order.py)."""
    from services.admissions.domain.encounters import encounter_key
    from shared.codec import decode
    from shared.events import AdtEventV1

    events = [decode(r.value, list(r.headers), (AdtEventV1,)) for r in adt_records]
    merged = {p.key() for e in events if e.trigger == "A40" for p in e.prior_patient_ids}
    return {k for e in events if e.patient_key in merged and (k := encounter_key(e))}


def effect_sets(db_urls: dict[str, str], topics: dict[str, list[Rec]]) -> dict[str, set]:
    """Every effect's final state by its identity, to compare a crash run with a crash-free run
    of the same feed (ids are derived from their causes, so equal feeds give equal sets).

    Left out, because they depend on timing even without any crash:
    - event histories (an alert raised with its readmission flag, or raised and then updated,
      depending on which hospital's events came first): final states are compared instead;
    - care gaps' histories (a follow-up gap is opened by a discharge and closed by a visit
      claim: never opened when the claim comes first) and gap tasks' ids: the final open gaps
      and open gap-task keys are compared;
    - measure-rate bonus estimates (gap events carry the time the gaps worker evaluated them,
      and rates are folded by that time): the ledger's other accounts are compared here, and the
      whole ledger to the cent against its own rebuild from the topics;
    - alerts of visits registered under a temporary MRN merged later (``merged_visits``)."""
    adm, gaps, out, bill = db_urls["admissions"], db_urls["gaps"], db_urls["outreach"], db_urls["billing"]
    temporary = merged_visits(topics["adt.events"])
    return {
        "alerts": {a for a in map(tuple, rows(adm, "SELECT alert_id, member_id, kind, encounter_key, status, "
                                                    "readmission FROM alerts")) if a[3] not in temporary},
        "encounters": set(map(tuple, rows(adm, "SELECT owner, encounter_key, status, patient_class, discharge_time "
                                               "FROM encounters"))),
        "care transitions and readmissions": transitions_state(topics["care.transitions"]),
        "tasks (tcm, referrals)": set(map(tuple, rows(out, "SELECT task_id, task_key, kind, status, cause_event_id, "
                                                           "due_date FROM tasks WHERE kind <> 'gap'"))),
        "open gap tasks": set(map(tuple, rows(out, f"SELECT task_key, status FROM tasks WHERE kind = 'gap' "
                                                   f"AND status NOT IN {TERMINAL_TASK}"))),
        "gaps": set(map(tuple, rows(gaps, "SELECT member_id, gap_key, status, due_date FROM gaps"))),
        "ledger balances (not bonus estimates)": set(map(tuple, rows(bill, """
            SELECT contract_id, period, account, member_id, rule, sum(amount_cents) FROM ledger_entries
            WHERE account <> 'bonus_estimate'
            GROUP BY contract_id, period, account, member_id, rule HAVING sum(amount_cents) <> 0"""))),
    }


def compare_sets(reference: dict[str, set], run: dict[str, set]) -> dict[str, tuple[list, list]]:
    """{name: (missing from the run, extra in the run)} for the sets that differ."""
    out = {}
    for name, ref in reference.items():
        got = run.get(name, set())
        if ref != got:
            out[name] = (sorted(ref - got, key=repr)[:20], sorted(got - ref, key=repr)[:20])
    return out
