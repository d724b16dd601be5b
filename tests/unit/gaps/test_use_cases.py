"""The gaps use cases on in-memory repositories (``fakes.py``): the worker's batch through the routes
table (roster snapshot → member, claim version → gap opened / closed with its reason, care
transition → follow-up gap, redelivery applied once), the re-evaluation, the API's reads. The SQL
adapters and the whole flow are tested on PostgreSQL and Kafka in ``tests/integration/gaps``."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from services.gaps import metrics
from services.gaps.app.queries import GapQueries
from services.gaps.app.reevaluation import Reevaluation
from services.gaps.domain import EvidenceItem, Period
from shared.events import CareTransitionCancelledV1, CareTransitionV1, ClaimLine, ClaimV2, MemberRosterV1
from shared.users import User

from .fakes import FakeUnitOfWork, Store, apply_batch, at, deliver, evaluator, factory

VISIT = ("99213", date(2026, 2, 10))
COLO = ("45378", date(2026, 2, 12))


@pytest.fixture(scope="module")
def measures():
    return evaluator()


def roster(member_id: str, *, practice: str = "P1", occurred: datetime = at(1, 2), status: str = "active",
           pod: str = "pod-east") -> MemberRosterV1:
    return MemberRosterV1(
        **MemberRosterV1.envelope(occurred_at=occurred, source="test", member_id=member_id, event_id=uuid.uuid4()),
        given_name="T", family_name="P", birth_date=date(1960, 5, 1), sex="F", pcp_practice_id=practice,
        contract_id="K1", pod=pod, eligibility=({"start": date(2025, 1, 1)},), status=status)


def claim(member_id: str, claim_id: str, codes, *, freq: str = "1", original: str | None = None,
          occurred: datetime = at(3, 1)) -> ClaimV2:
    return ClaimV2(
        **ClaimV2.envelope(occurred_at=occurred, source="test", member_id=member_id, event_id=uuid.uuid4()),
        claim_id=claim_id, frequency_code=freq, original_claim_id=original, claim_type="professional",
        lines=tuple(ClaimLine(line_number=i, procedure_code=c, service_date=d, charge_amount=Decimal("10"))
                    for i, (c, d) in enumerate(codes, 1)))


def discharge(member_id: str, tid: uuid.UUID, day: date) -> CareTransitionV1:
    return CareTransitionV1(
        **CareTransitionV1.envelope(occurred_at=at(3, 11), source="test", member_id=member_id, event_id=uuid.uuid4()),
        transition_id=tid, encounter_key="MERCY|V1", facility="MERCY", patient_class="I",
        discharge_time=datetime(day.year, day.month, day.day, 15, tzinfo=timezone.utc), discharge_disposition="01",
        pcp_practice_id="P1", contract_id="K1")


def kinds(events, measure: str) -> list[tuple[str, str]]:
    return [(e.event_type, e.status) for e in events if e.measure_id == measure]


def test_a_roster_snapshot_keeps_the_member_and_a_late_older_one_is_kept_out(measures):
    store = Store()
    first = roster("M1", practice="P1", occurred=at(1, 2))
    apply_batch(store, measures, [first, claim("M1", "V1", [VISIT])])
    assert store.members["M1"].event_id == first.event_id
    moved = roster("M1", practice="P2", occurred=at(7, 1))
    evs = apply_batch(store, measures, [moved])
    assert {(e.measure_id, e.event_type, e.practice_id) for e in evs} == {
        ("CMS125", "gap.opened", "P2"), ("CMS130", "gap.opened", "P2")}  # the gaps follow the member
    assert apply_batch(store, measures, [roster("M1", practice="P9", occurred=at(3, 1))]) == []
    assert store.members["M1"].event_id == moved.event_id


def test_claims_wait_for_the_roster(measures):
    store = Store()
    assert apply_batch(store, measures, [claim("M2", "C2", [VISIT, COLO])]) == []
    assert store.gaps == {} and len(store.claims) == 1
    evs = apply_batch(store, measures, [roster("M2")])
    assert {(e.measure_id, e.event_type) for e in evs} == {("CMS130", "gap.closed"), ("CMS125", "gap.opened")}


def test_a_claim_opens_and_closes_a_gap_with_its_reason_and_a_replacement_reopens_it(measures):
    store = Store()
    apply_batch(store, measures, [roster("M3")])
    (opened,) = [e for e in apply_batch(store, measures, [claim("M3", "V3", [VISIT])]) if e.measure_id == "CMS130"]
    assert (opened.event_type, opened.status) == ("gap.opened", "open") and opened.reason
    colo = claim("M3", "C3", [COLO], occurred=at(3, 2))
    (closed,) = [e for e in apply_batch(store, measures, [colo]) if e.measure_id == "CMS130"]
    assert (closed.event_type, closed.status) == ("gap.closed", "closed")
    assert "45378" in closed.reason and closed.causation_id == colo.event_id
    assert closed.evidence[0].code == "45378" and closed.evidence[0].claim_id == "C3"
    row = store.gaps[("M3", closed.gap_key)]
    assert row["gap"].status == "closed" and row["evidence"] == (
        EvidenceItem(code="45378", code_system="CPT", date=COLO[1], claim_id="C3", value=None,
                     description=row["evidence"][0].description),)
    void = claim("M3", "C3", [COLO], freq="8", original="C3", occurred=at(3, 20))
    assert kinds(apply_batch(store, measures, [void]), "CMS130") == [("gap.opened", "open")]


def test_a_discharge_opens_a_follow_up_gap_a_visit_closes_it_a_cancel_withdraws_it(measures):
    store = Store()
    tid = uuid.uuid4()
    apply_batch(store, measures, [roster("M4")])
    (opened,) = apply_batch(store, measures, [discharge("M4", tid, date(2026, 3, 10))])
    assert (opened.measure_id, opened.event_type, opened.instance_id, opened.due_date) == (
        "FUP", "gap.opened", "2026-03-10", date(2026, 4, 9))
    assert ("gap.closed", "closed") in kinds(apply_batch(store, measures, [claim("M4", "V4", [("99214", date(2026, 3, 20))])]), "FUP")
    cancel = CareTransitionCancelledV1(
        **CareTransitionCancelledV1.envelope(occurred_at=at(3, 25), source="test", member_id="M4", event_id=uuid.uuid4()),
        transition_id=tid, reason="A13")
    (withdrawn,) = [e for e in apply_batch(store, measures, [cancel]) if e.measure_id == "FUP"]
    assert (withdrawn.event_type, withdrawn.status) == ("gap.excluded", "not_applicable")
    assert "withdrawn" in withdrawn.reason


def test_a_redelivered_batch_is_applied_once(measures):
    store = Store()
    batch = [roster("M5"), claim("M5", "V5", [VISIT]), claim("M5", "C5", [COLO])]
    once = deliver(store, measures, batch)
    snapshot = (dict(store.members), dict(store.claims), {k: v["gap"] for k, v in store.gaps.items()})
    assert deliver(store, measures, batch) == []  # the dedupe: nothing applied, nothing announced
    assert snapshot == (dict(store.members), dict(store.claims), {k: v["gap"] for k, v in store.gaps.items()})
    assert store.published == once
    # past the dedupe too (the use cases see the same events again): nothing changes, nothing is said
    assert apply_batch(store, measures, batch) == []
    assert len(store.claims) == 2


def test_a_batch_whose_commit_failed_comes_back_with_the_same_event_ids_and_counts_once(measures):
    store = Store()
    deliver(store, measures, [roster("M6")])
    batch = [claim("M6", "V6", [VISIT])]
    counted = metrics.EVALUATIONS._value.get()
    before = {k: v["gap"] for k, v in store.gaps.items()}
    failing = FakeUnitOfWork(store)
    failing.fail_commit = True
    with pytest.raises(Exception, match="commit failed"):
        deliver(store, measures, batch, uow=failing)
    assert {k: v["gap"] for k, v in store.gaps.items()} == before and not store.claims  # nothing kept
    assert metrics.EVALUATIONS._value.get() == counted  # nothing committed: nothing counted
    first = list(store.published)
    second = deliver(store, measures, batch)  # redelivered: applied now, with the same ids
    assert [e.event_id for e in second] == [e.event_id for e in first] and second
    assert metrics.EVALUATIONS._value.get() == counted + 1


def test_the_reevaluation_needs_a_producer_and_turns_a_lapsing_gap_due_soon_once(measures):
    store = Store()
    apply_batch(store, measures, [roster("M7"), claim("M7", "V7", [VISIT, ("77067", date(2024, 10, 15))])])
    key = next(k for k in store.gaps if "CMS125" in k[1])
    assert store.gaps[key]["gap"].status == "closed"
    published = len(store.published)
    with pytest.raises(RuntimeError):
        Reevaluation(factory(store, producer=False), measures, chunk=10).run(["M7"], as_of=date(2026, 11, 15))
    assert store.gaps[key]["gap"].status == "closed" and len(store.published) == published
    runner = Reevaluation(factory(store), measures, chunk=1)
    report = runner.run(as_of=date(2026, 11, 15))
    assert [(e.measure_id, e.status, e.lapses_on) for e in store.published[published:]] == [
        ("CMS125", "due_soon", date(2026, 12, 31))]
    assert (report.members, report.events) == (1, 1)
    assert runner.run(as_of=date(2026, 11, 15)).events == 0


def test_a_member_of_another_pod_reads_as_unknown_and_the_refusal_is_audited(measures):
    store = Store()
    apply_batch(store, measures, [roster("M8", pod="pod-east"), claim("M8", "V8", [VISIT])])
    queries = GapQueries(factory(store))
    nurse = User(id="n1", name="N", roles=frozenset({"nurse"}), pods=frozenset({"pod-west"}))
    assert queries.member_gaps(nurse, "M8", Period.calendar_year(2026), endpoint="e", detail="d") is None
    assert store.audit[-1]["detail"] == "denied: outside the user's pods"
    east = nurse.model_copy(update={"pods": frozenset({"pod-east"})})
    member, gaps = queries.member_gaps(east, "M8", Period.calendar_year(2026), endpoint="e", detail="d")
    assert member.member_id == "M8" and [g.measure_id for g in gaps][:2] == ["CMS130", "CMS125"]
    assert store.audit[-1]["detail"] == "d"
    rates = {r["measure_id"]: r for r in queries.rates(Period.calendar_year(2026), by_practice=True, by_contract=False)}
    assert rates["CMS130"]["open_gaps"] == 1 and rates["CMS130"]["practice_id"] == "P1"
