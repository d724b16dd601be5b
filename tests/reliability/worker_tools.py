"""Tools for the worker-level cases (rebalance, redelivery, replay): events made from a synthetic
population without the front doors, the group's membership from the broker, a worker's counters
from its /metrics, database snapshots, and records produced again as they were."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from carectl.synth import iter_adt
from shared.events import AdtEventV1, EligibilitySpan, MemberRosterV1, MrnXref


def roster_events(path: Path, occurred_at: datetime) -> list[MemberRosterV1]:
    """One MemberRosterV1 per row of the generator's roster.csv."""
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pairs = [p.split(":", 1) for p in row["mrns"].split(";") if p]
            end = date.fromisoformat(row["eligibility_end"]) if row["eligibility_end"] else None
            out.append(MemberRosterV1(
                **MemberRosterV1.envelope(occurred_at=occurred_at, source="reliability:roster.csv",
                                          member_id=row["member_id"]),
                given_name=row["given_name"], family_name=row["family_name"],
                birth_date=date.fromisoformat(row["birth_date"]), sex=row["sex"],
                mrns=tuple(MrnXref(assigning_authority=a, mrn=m) for a, m in pairs),
                pcp_practice_id=row["pcp_practice_id"], pcp_npi=row["pcp_npi"] or None,
                hospitalist_group=row["hospitalist_group"] or None, pod=row["pod"] or None,
                contract_id=row["contract_id"], program=row["program"] or None, risk_tier=row["risk_tier"],
                eligibility=(EligibilitySpan(start=date.fromisoformat(row["eligibility_start"]), end=end),)))
    return out


def adt_events(pop: Path, received_at: datetime) -> list[AdtEventV1]:
    """The generator's ADT messages mapped to events exactly as the gateway maps them."""
    from services.admissions.domain.adt_event import to_adt_event
    from services.admissions.domain.validation import inspect
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/Chicago")
    out = []
    for t in iter_adt(pop):
        ins = inspect(t.data.message, tz)
        assert ins.ok, ins.issues
        event, issues = to_adt_event(ins.fields, raw=ins.message.text, received_at=received_at,
                                     source=f"mllp:{ins.fields.sending_facility}")
        assert event is not None, issues
        out.append(event)
    return out


def group_members(settings, group: str) -> list[tuple[str, set[tuple[str, int]]]]:
    """(member id, assigned (topic, partition)s) of a consumer group, from the coordinator."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(settings.kafka_client_config())
    desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    return [(m.member_id, {(tp.topic, tp.partition) for tp in (m.assignment.topic_partitions or [])})
            for m in desc.members]


_COUNTER = re.compile(r'^ccp_consumer_events_total\{consumer="([^"]+)",outcome="([^"]+)"\} ([0-9.e+]+)$', re.M)


def consumer_counts(port: int, consumer: str) -> dict[str, float]:
    """{outcome: count} of ``ccp_consumer_events_total`` for ``consumer`` on a worker's /metrics."""
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return {}
    return {outcome: float(v) for c, outcome, v in _COUNTER.findall(body) if c == consumer}


def snapshot(url: str, tables: Iterable[str]) -> dict[str, list]:
    """Every row of ``tables`` (sorted), to compare a database before and after."""
    engine = create_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for t in tables:
                out[t] = sorted((tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}"'))), key=repr)
    finally:
        engine.dispose()
    return out


def produce_again(settings, records) -> int:
    """Write ``records`` (tests.reliability.invariants.Rec) again, to the same partitions, in order."""
    from confluent_kafka import Producer

    p = Producer({**settings.kafka_client_config(), "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    failures: list = []
    for r in records:
        while True:
            try:
                p.produce(r.topic, value=r.value, key=r.key, headers=list(r.headers), partition=r.partition,
                          on_delivery=lambda err, _m: err and failures.append(err))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(60)
    assert left == 0 and not failures, (left, failures[:3])
    return len(records)


def now() -> datetime:
    return datetime.now(timezone.utc)
