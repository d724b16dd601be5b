"""The worker's batch handler (its routes table over the SQL unit of work, ``wiring.py``) in this
process against a real database - PostgreSQL and the embedded SQLite default - one transaction
per call, as ``BatchConsumer`` runs it (no Kafka here)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.gaps.adapters.database import open_database
from services.gaps.adapters.tables import gaps as gaps_table, members
from services.gaps.settings import GapsSettings
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimLine, ClaimV1, MemberRosterV1, ReadmissionV1,
)

from .wiring import reevaluation, worker_handler

AS_OF = date(2026, 6, 30)


@pytest.fixture(params=["postgresql", "sqlite"])
def handler_db(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'gaps.db'}"
    settings = GapsSettings(database_url=url, measurement_year=2026, evaluation_date=AS_OF, environment="test")
    db = open_database(settings)
    handler = worker_handler(settings)
    yield settings, db, handler
    db.dispose()


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


def roster(member_id: str, *, practice: str = "P1", contract: str = "K1", occurred: datetime = at(1, 2),
           status: str = "active", sex: str = "F", birth: date = date(1960, 5, 1)) -> MemberRosterV1:
    return MemberRosterV1(
        **MemberRosterV1.envelope(occurred_at=occurred, source="test", member_id=member_id, event_id=uuid.uuid4()),
        given_name="T", family_name="P", birth_date=birth, sex=sex, pcp_practice_id=practice, contract_id=contract,
        pod="pod-east", eligibility=({"start": date(2025, 1, 1)},), status=status)


def claim(member_id: str, claim_id: str, codes: list[tuple[str, date]], *, freq: str = "1", original: str | None = None,
          occurred: datetime = at(3, 1), **kw) -> ClaimV1:
    return ClaimV1(
        **ClaimV1.envelope(occurred_at=occurred, source="test", member_id=member_id, event_id=uuid.uuid4()),
        claim_id=claim_id, frequency_code=freq, original_claim_id=original, claim_type=kw.pop("claim_type", "professional"),
        lines=tuple(ClaimLine(line_number=i, procedure_code=c, service_date=d, charge_amount=Decimal("10"))
                    for i, (c, d) in enumerate(codes, 1)), **kw)


def discharge(member_id: str, tid: uuid.UUID, day: date, occurred: datetime = at(3, 11)) -> CareTransitionV1:
    return CareTransitionV1(
        **CareTransitionV1.envelope(occurred_at=occurred, source="test", member_id=member_id, event_id=uuid.uuid4()),
        transition_id=tid, encounter_key="MERCY|V1", facility="MERCY", patient_class="I",
        discharge_time=datetime(day.year, day.month, day.day, 15, tzinfo=timezone.utc), discharge_disposition="01",
        pcp_practice_id="P1", contract_id="K1")


def apply(db, handler, *events):
    with db.transaction() as session:
        return handler(session, list(events))


def statuses(db, member_id: str) -> dict[str, str]:
    with db.transaction() as s:
        return {(r.measure_id + (f"|{r.instance_id}" if r.instance_id else "")): r.status
                for r in s.execute(select(gaps_table).where(gaps_table.c.member_id == member_id))}


VISIT = ("99213", date(2026, 2, 10))
COLO = ("45378", date(2026, 2, 12))


def test_a_replacement_supersedes_whichever_arrives_first(handler_db):
    _, db, h = handler_db
    apply(db, h, roster("M1"), roster("M2"))
    original = claim("M1", "C1", [VISIT, COLO], occurred=at(3, 1))
    replacement = claim("M1", "C1R", [VISIT], freq="7", original="C1", occurred=at(3, 20))
    evs = apply(db, h, original)
    assert ("CMS130", "gap.closed") in {(e.measure_id, e.event_type) for e in evs}
    evs = apply(db, h, replacement)
    col = [e for e in evs if e.measure_id == "CMS130"]
    assert [(e.event_type, e.status) for e in col] == [("gap.opened", "open")]
    assert col[0].causation_id == replacement.event_id
    # The same two versions the other way round (M2): the replacement is held until its original
    # arrives (no visit counts yet: nothing announced), then it wins, and the colonoscopy the
    # original carried never closes the gap.
    evs = apply(db, h, claim("M2", "C1R", [VISIT], freq="7", original="C1", occurred=at(3, 20)))
    assert not [e for e in evs if e.measure_id == "CMS130"]
    evs = apply(db, h, claim("M2", "C1", [VISIT, COLO], occurred=at(3, 1)))
    assert [(e.event_type, e.status) for e in evs if e.measure_id == "CMS130"] == [("gap.opened", "open")]
    assert statuses(db, "M1")["CMS130"] == statuses(db, "M2")["CMS130"] == "open"


def test_the_gap_follows_the_member_to_a_new_practice_and_old_snapshots_are_kept_out(handler_db):
    _, db, h = handler_db
    apply(db, h, roster("M3", practice="P1", occurred=at(1, 2)), claim("M3", "V3", [VISIT]))
    evs = apply(db, h, roster("M3", practice="P2", contract="K2", occurred=at(7, 1)))
    assert sorted((e.measure_id, e.event_type, e.practice_id, e.contract_id) for e in evs) == [
        ("CMS125", "gap.opened", "P2", "K2"), ("CMS130", "gap.opened", "P2", "K2")]
    with db.transaction() as s:
        practices = {r.practice_id for r in s.execute(select(gaps_table).where(gaps_table.c.member_id == "M3"))}
    assert practices == {"P2"}
    # A snapshot from before that (a late delivery) does not move the member back.
    assert apply(db, h, roster("M3", practice="P9", occurred=at(3, 1))) == []
    with db.transaction() as s:
        assert s.scalar(select(members.c.pcp_practice_id).where(members.c.member_id == "M3")) == "P2"


def test_claims_that_arrive_before_the_roster_wait_for_it(handler_db):
    _, db, h = handler_db
    assert apply(db, h, claim("M4", "C4", [VISIT, COLO])) == []
    assert statuses(db, "M4") == {}
    evs = apply(db, h, roster("M4"))
    assert {(e.measure_id, e.event_type) for e in evs} == {("CMS130", "gap.closed"), ("CMS125", "gap.opened")}


def test_follow_up_after_a_discharge_opens_closes_and_a_cancel_withdraws_it(handler_db):
    _, db, h = handler_db
    tid = uuid.uuid4()
    apply(db, h, roster("M5"))
    (opened,) = apply(db, h, discharge("M5", tid, date(2026, 3, 10)))
    assert (opened.measure_id, opened.event_type, opened.instance_id, opened.due_date) == (
        "FUP", "gap.opened", "2026-03-10", date(2026, 4, 9))
    evs = apply(db, h, claim("M5", "V5", [("99214", date(2026, 3, 20))]))
    assert ("FUP", "gap.closed") in {(e.measure_id, e.event_type) for e in evs}
    cancel = CareTransitionCancelledV1(
        **CareTransitionCancelledV1.envelope(occurred_at=at(3, 25), source="test", member_id="M5", event_id=uuid.uuid4()),
        transition_id=tid, reason="A13")
    readmit = ReadmissionV1(
        **ReadmissionV1.envelope(occurred_at=at(3, 25), source="test", member_id="M5", event_id=uuid.uuid4()),
        readmission_id=uuid.uuid4(), index_encounter_key="x", index_discharge_date=date(2026, 3, 10),
        readmit_encounter_key="y", admit_date=date(2026, 3, 24), days_since_discharge=14, pcp_practice_id="P1",
        contract_id="K1")
    evs = apply(db, h, cancel, readmit)
    fup = [e for e in evs if e.measure_id == "FUP"]
    assert [(e.event_type, e.status) for e in fup] == [("gap.excluded", "not_applicable")]
    assert "withdrawn" in fup[0].reason


def test_a_termed_member_has_every_announced_gap_excluded(handler_db):
    _, db, h = handler_db
    apply(db, h, roster("M6"), claim("M6", "V6", [VISIT]))
    evs = apply(db, h, roster("M6", status="termed", occurred=at(8, 1)))
    assert sorted((e.measure_id, e.event_type, e.status) for e in evs) == [
        ("CMS125", "gap.excluded", "not_applicable"), ("CMS130", "gap.excluded", "not_applicable")]
    assert set(statuses(db, "M6").values()) == {"not_applicable"}


def test_only_changes_are_announced_and_replays_give_the_same_ids(handler_db):
    _, db, h = handler_db
    apply(db, h, roster("M7"))
    c = claim("M7", "V7", [VISIT])
    with db.transaction() as s:  # the batch is applied, then rolled back (a failed commit) ...
        first = h(s, [c])
        s.rollback()
    second = apply(db, h, c)  # ... and redelivered: the same events with the same ids
    assert [e.event_id for e in first] == [e.event_id for e in second] and len(second) == 2
    assert apply(db, h, claim("M7", "V7b", [("99214", date(2026, 3, 1))])) == []  # still open: nothing to say


def test_daily_reevaluation_turns_lapsing_gaps_due_soon_once(handler_db):
    settings, db, h = handler_db
    apply(db, h, roster("M8"), claim("M8", "V8", [VISIT, ("77067", date(2024, 10, 15))]))
    assert statuses(db, "M8")["CMS125"] == "closed"  # mammogram counts through 2026-12-31
    runner = reevaluation(settings, db, None)
    with pytest.raises(RuntimeError):  # a status change needs a producer to be announced
        runner.run(["M8"], as_of=date(2026, 11, 15))
    assert statuses(db, "M8")["CMS125"] == "closed"  # nothing written without the announcement

    sent = []

    class Recorder:
        def send_sync(self, events):
            sent.extend(events)

    runner = reevaluation(settings, db, Recorder())
    report = runner.run(as_of=date(2026, 11, 15))
    assert [(e.measure_id, e.event_type, e.status, e.lapses_on) for e in sent if e.member_id == "M8"] == [
        ("CMS125", "gap.closed", "due_soon", date(2026, 12, 31))]
    assert report.members >= 1 and report.events >= 1
    again = runner.run(as_of=date(2026, 11, 15))
    assert again.events == 0 and again.changed_rows == 0


def test_a_nul_character_is_an_invalid_event_not_a_database_error(handler_db):
    from shared.errors import InvalidEvent

    _, db, h = handler_db
    for bad in (roster("M9\x00"), roster("M9").model_copy(update={"given_name": "A\x00"}),
                claim("M9", "C\x009", [VISIT])):
        with pytest.raises(InvalidEvent), db.transaction() as s:
            h(s, [bad])
    apply(db, h, roster("M9"))  # the database is unharmed
    assert statuses(db, "M9")


def test_the_full_reevaluation_walks_every_member_whatever_the_collation(handler_db):
    settings, db, h = handler_db
    ids = ["a-3", "A2", "a1", "M-10", "M9", "m_8", "Z", "z-0"]  # orders differ between C and locale collations
    apply(db, h, *[roster(m) for m in ids])
    runner = reevaluation(settings.model_copy(update={"reevaluate_chunk": 3}), db, None)
    report = runner.run()
    assert report.members == report.evaluated == len(ids)
