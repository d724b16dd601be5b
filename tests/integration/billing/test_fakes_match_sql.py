"""The in-memory fakes billing's unit tests run on (``tests/unit/billing/fakes.py``) hold what the
SQL adapters hold: the same scenario — roster snapshots (a mid-month start, a back-dated
termination), claims with a carve-out, a correction before its original, a computed tier,
gaps under two contracts, transitions, task steps, a fed metric, a month close and a void after
it, a contract reload, a month opened by the calendar — runs through the same use cases on the
fakes and on PostgreSQL, and after every step the entries each side posted and everything the
ports read back (ledger, member histories, accrual rows, contract facts, statements) are equal.
A fake that drifts from its adapter fails here, not in a unit test that trusts it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest

from services.billing.adapters.database import contract_files
from services.billing.app import commands, queries
from services.billing.contracts import CONTRACTS_DIR
from services.billing.domain import Posting, PostingKey
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ReadmissionV1, RiskTierChangedV1, TaskLifecycleV1, TierSpan,
    UtilizationFactors,
)
from tests.unit.billing.fakes import FakeWorker, Store, consumed, uow_factory

from .billing_inputs import at, claim, eid, gap, roster
from .worker_parts import Storage, Worker

MEMBERS = ("M1", "M2", "M3", "M4")
PERIODS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 4, 15, 12, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class SqlSide:
    def __init__(self, url: str, clock: Clock) -> None:
        self.storage = Storage(url)
        self.uow = self.storage.uow
        self.worker = Worker(self.storage, open_month_policy="calendar", estimate_interval_s=0, clock=clock)

    def apply(self, events):
        return self.worker.apply([consumed(e) for e in events])

    def maintain(self):
        before = len(self.storage.sent)
        self.worker.maintain()
        return self.storage.sent[before:]

    def close(self, contract_id, period):
        return self.worker.close_month(contract_id, period, "admin")


class FakeSide:
    def __init__(self, clock: Clock) -> None:
        self.store = Store()
        self.uow = uow_factory(self.store)
        commands.ensure_default_contracts(self.uow, contract_files(CONTRACTS_DIR))
        self.worker = FakeWorker(self.store, open_month_policy="calendar", open_month=None, clock=clock)

    def apply(self, events):
        return self.worker.apply(events)

    def maintain(self):
        before = len(self.store.published)
        self.worker.maintain()
        return self.store.published[before:]

    def close(self, contract_id, period):
        return self.worker.close_month(contract_id, period, "admin")


def posted(events) -> list[tuple]:
    return [(str(e.entry_id), e.contract_id, e.period, e.posted_period, e.account, e.member_id, e.rule,
             e.amount_cents, str(e.source_event_id), e.reverses, e.adjustment) for e in events]


def read_back(side) -> dict:
    """Everything the ports answer for the scenario's members, contracts and months."""
    out: dict = {}
    with side.uow(writer=False) as r:
        led, mem, rows, facts = r.ledger, r.members, r.rows, r.facts
        out["key_balances"] = led.key_balances()
        out["account_balances"] = led.account_balances()
        for cid in ("MMO-2026", "GR-2026"):
            out[cid, "totals"] = led.totals(cid, PERIODS[0], PERIODS[-1])
            out[cid, "contract_entries"] = sorted(map(repr, led.of_contract(cid, PERIODS[0], r.books.closed()).entries))
            out[cid, "members"] = rows.contract_members(cid)
            out[cid, "fed"] = facts.fed_metric_rows(cid)
            c = facts.contract_rows(cid, PERIODS[0], PERIODS[-1])
            out[cid, "rows"] = (sorted(c.month_counts), sorted(c.cost_sums, key=repr),
                                sorted((g.event_id, g.contract_id, g.gap_key, g.status, g.occurred_at) for g in c.gaps),
                                sorted(str(e.event_id) for e in c.transitions),
                                sorted(str(e.event_id) for e in c.readmissions), sorted(map(repr, c.steps)), c.fed)
            contract = queries.get_contract(r, cid)
            out[cid, "statements"] = queries.statements(r, contract, PERIODS[0], PERIODS[-2])
            for p in PERIODS:
                out[cid, p] = (rows.contract_months(cid, p), rows.tiers(cid, p),
                               led.entries(cid, p, "period", None, 1000, 0), led.entries(cid, p, "posted", None, 3, 1),
                               led.aggregate(cid, p, "posted", None), led.aggregate(cid, p, "period", "pmpm_fee"),
                               led.net(cid, p, "pmpm_fee"), led.net(cid, p, "carve_out", rule_suffix=":cardiac_surgery"))
        out["month_counts"] = rows.month_counts()
        out["ledger_of_members"] = sorted(map(repr, led.of_members(MEMBERS, r.books.closed()).entries))
        out["ledger_of_rules"] = sorted(map(repr, led.of_members(
            ["M1"], r.books.closed(), {"M2": {"claim:C1", "claim:C1:cardiac_surgery"}}).entries))
        out["months"] = rows.months(MEMBERS)
        out["costs"] = {m: dict(f) for m, f in rows.costs(["M1"], ["M2|C1", "M2|O1"]).items()}
        out["snapshots"] = {m: sorted(str(e.event_id) for e in evs) for m, evs in mem.snapshots(MEMBERS).items()}
        out["snapshot_ids"] = mem.snapshot_ids(MEMBERS)
        out["claims"] = {m: sorted(e.model_dump_json() for e in evs) for m, evs in mem.claims(["M1"]).items()}
        touched = [consumed(claim("M2", "O1", (("99213", date(2026, 3, 4), "1.00"),)))]
        out["claims_touched"] = {m: sorted(str(e.event_id) for e in evs) for m, evs in mem.claims([], touched).items()}
        out["held"] = (mem.held_counts(), mem.held_rows(None, 10, 0), mem.held_rows("M2", 1, 0))
        out["members_after"] = (mem.members_after("", 2), mem.members_after("M2", 10))
        out["risk"] = (mem.risk_stamps(MEMBERS), mem.risk_histories(MEMBERS))
        out["gap_contracts"] = sorted(facts.gap_contracts(["M1|CMS130|2026", "M3|CMS130|2026"]))
        out["transition_contracts"] = facts.transition_contracts([str(TRANSITION), str(uuid.uuid4())])
    return out


TRANSITION = uuid.uuid5(uuid.NAMESPACE_URL, "billing-fakes:transition")
TASK = uuid.uuid5(uuid.NAMESPACE_URL, "billing-fakes:task")


def _transition(day: date, cancelled: bool = False):
    if cancelled:
        return CareTransitionCancelledV1(**CareTransitionCancelledV1.envelope(
            occurred_at=at(day), source="it", member_id="M1", event_id=eid("cancel", day)),
            transition_id=TRANSITION, reason="A13")
    return CareTransitionV1(**CareTransitionV1.envelope(occurred_at=at(day), source="it", member_id="M1",
                                                        event_id=eid("transition", day)),
                            transition_id=TRANSITION, encounter_key="E1", facility="MERCY", discharge_time=at(day),
                            pcp_practice_id="P001", contract_id="MMO-2026")


def _readmission(day: date):
    return ReadmissionV1(**ReadmissionV1.envelope(occurred_at=at(day), source="it", member_id="M1",
                                                  event_id=eid("readmit", day)),
                         readmission_id=eid("readmission", day), index_encounter_key="E1",
                         index_discharge_date=date(2026, 3, 2), readmit_encounter_key="E2", admit_date=day,
                         days_since_discharge=(day - date(2026, 3, 2)).days, pcp_practice_id="P001",
                         contract_id="MMO-2026")


def _task(status: str, day: date, appointment: date | None = None):
    return TaskLifecycleV1(**TaskLifecycleV1.envelope(occurred_at=at(day), source="it", member_id="M1",
                                                      event_id=eid("task", status, day)),
                           task_id=TASK, kind="gap", reason_key="CMS130", queue="quality_nurse:pod-east",
                           role="quality_nurse", to_status=status, actor="system", appointment_date=appointment,
                           contract_id="MMO-2026")


def _tier(member_id: str, start: date, tier: str, decided: date):
    return RiskTierChangedV1(
        **RiskTierChangedV1.envelope(occurred_at=at(decided), source="risk", member_id=member_id,
                                     event_id=eid("tier", member_id, start, tier, decided)),
        contract_id="MMO-2026", practice_id="P001", effective_date=start, old_tier="high", new_tier=tier,
        decided_on=decided, model="CMS-HCC V28", payment_year=2026, risk_score=3.2,
        utilization=UtilizationFactors(admissions_12m=0, ed_visits_12m=0, readmissions_12m=1, open_gaps=0),
        rule="test", history=(TierSpan(start=start, tier=tier),))


FED_AT = datetime(2026, 4, 15, 13, tzinfo=timezone.utc)
AMENDED = (CONTRACTS_DIR / "mmo-care-coordination-2026.yaml").read_text().replace('high: "30.00"', 'high: "31.00"', 1)

STEPS = [
    ("first month of the accrual", lambda s: s.maintain()),
    ("rosters and claims", lambda s: s.apply([
        roster("M1", tier="high", start=date(2026, 2, 14)),
        roster("M2", contract_id="GR-2026", tier="low", start=date(2026, 3, 17)),
        roster("M3", tier="moderate"), roster("M4", tier="low", start=date(2026, 1, 1)),
        claim("M2", "C1", (("99213", date(2026, 3, 20), "120.00"), ("33510", date(2026, 3, 20), "5000.00"))),
        claim("M1", "C2", (("99214", date(2026, 2, 20), "150.00"),)),
    ])),
    ("a correction before its original, claim-only", lambda s: s.apply([
        claim("M2", "R1", (("99214", date(2026, 3, 21), "80.00"),), frequency="7", original="O1"),
        claim("M1", "C3", (("99213", date(2026, 4, 2), "40.00"),)),
    ])),
    ("the original arrives, a tier decided, gaps", lambda s: s.apply([
        claim("M2", "O1", (("99213", date(2026, 3, 21), "60.00"),), received=date(2026, 4, 5)),
        _tier("M3", date(2026, 3, 1), "complex", date(2026, 3, 12)),
        gap("M1", "CMS130", "closed", date(2026, 3, 5)), gap("M3", "CMS130", "closed", date(2026, 3, 6)),
        gap("M4", "CMS130", "open", date(2026, 3, 6)),
    ])),
    ("transitions and task steps", lambda s: s.apply([
        _transition(date(2026, 3, 2)), _readmission(date(2026, 3, 9)), _transition(date(2026, 3, 3), cancelled=True),
        _task("open", date(2026, 3, 1)), _task("scheduled", date(2026, 3, 4), appointment=date(2026, 3, 10)),
        gap("M3", "CMS130", "open", date(2026, 4, 2), contract_id="GR-2026"),
    ])),
    ("the same batch again", lambda s: s.apply([
        roster("M3", tier="moderate"), gap("M1", "CMS130", "closed", date(2026, 3, 5)),
        claim("M1", "C3", (("99213", date(2026, 4, 2), "40.00"),))])),
    ("a fed metric, then the timer", lambda s: (
        commands.feed_metric(s.uow, "MMO-2026", "2026-02", "median_days_to_appointment", "6", "sup",
                             now=lambda: FED_AT), s.maintain())[1]),
    ("February closed", lambda s: s.close("MMO-2026", "2026-02")),
    ("a void and a termination after the close", lambda s: s.apply([
        claim("M1", "C2", (), frequency="8", received=date(2026, 4, 8)),
        roster("M4", tier="low", on=date(2026, 4, 9), start=date(2026, 1, 1), end=date(2026, 1, 20), status="termed"),
    ])),
    ("a reloaded contract", lambda s: (commands.load_contract(s.uow, AMENDED, source="amended.yaml", user="admin"),
                                       s.maintain())[1]),
]


@pytest.fixture
def sides(pg_url):
    clock = Clock()
    sql, fake = SqlSide(pg_url, clock), FakeSide(clock)
    yield sql, fake, clock
    sql.storage.dispose()


def test_the_fakes_post_and_read_back_what_postgresql_does(sides):
    sql, fake, clock = sides
    for name, step in STEPS:
        assert posted(step(fake)) == posted(step(sql)), name
        assert read_back(fake) == read_back(sql), name
    clock.now = datetime(2026, 5, 3, tzinfo=timezone.utc)  # May opens
    opened = posted(fake.maintain())
    assert opened and opened == posted(sql.maintain())
    assert read_back(fake) == read_back(sql)


def test_a_second_post_of_an_entry_id_is_refused_on_both_and_the_transaction_keeps_nothing(sides):
    sql, fake, _ = sides
    entry = Posting(uuid.uuid4(), PostingKey("MMO-2026", "2026-03", "pmpm_fee", "M1", "pmpm:high"), 3000, "2026-03",
                    uuid.uuid4())
    now = datetime(2026, 4, 15, tzinfo=timezone.utc)
    for side in (fake, sql):
        with pytest.raises(Exception):
            with side.uow() as w:
                w.ledger.append([entry], now)
                w.ledger.append([entry], now)
                w.commit()
        with side.uow() as w:
            w.ledger.append([entry], now)
            w.commit()
        with pytest.raises(Exception):
            with side.uow() as w:
                w.ledger.append([entry], now)
                w.commit()
    assert read_back(fake)["key_balances"] == read_back(sql)["key_balances"] == {entry.key: 3000}
