"""The SQL repository runs the same use cases as the in-memory one, on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.risk.adapters.reference import load_avoidable_list, load_normalization, load_policies, \
    load_practice_hours
from services.risk.adapters.database import open_database
from services.risk.adapters.repository import SqlRiskRepository
from services.risk.adapters.unit_of_work import SqlUnitOfWork
from services.risk.app.context import RiskContext
from services.risk.app.ed_report import ed_evidence
from services.risk.app.full_rescore import full_rescore
from services.risk.app.rescore import explain_member
from services.risk.adapters.wiring import transactions
from services.risk.domain.segments import Segment
from tests.unit.risk import events as ev
from tests.unit.risk.fakes import through_routes

TODAY = date(2026, 3, 12)


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path}/risk.db"
    database = open_database(url)
    yield database
    database.dispose()


def ctx(today=TODAY):
    return RiskContext(load_policies(), load_normalization(), lambda: today)


def run(db, events, today=TODAY):
    with db.transaction() as s:
        return through_routes(SqlUnitOfWork.for_session(s), events, ctx(today))


def stored(db, m):
    with db.transaction() as s:
        return SqlRiskRepository(s).assessment(m)


def view(db, m):
    with db.transaction() as s:
        return explain_member(SqlRiskRepository(s), m, ctx())


def test_scores_tiers_voids_and_the_explanation_survive_the_database(db):
    m = ev.member()
    assert run(db, [ev.roster(m, tier="low")]) == []
    (e,) = run(db, [ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20), claim_id="CLM-A")])
    assert (e.old_tier, e.new_tier, e.effective_date, e.risk_score) == ("low", "high", date(2026, 4, 1), 2.12)
    a = stored(db, m)
    assert a.history == ((date(2026, 4, 1), "high"),) and a.tier_in_force == "low"
    assert {h["hcc"] for h in view(db, m)["score"]["hccs"]} == {"37", "226", "280", "327"}
    void = ev.office_claim(m, ("E1122",), date(2026, 2, 20), claim_id="CLM-A", frequency="8",
                           at=datetime(2026, 3, 10, tzinfo=ev.UTC))
    (back,) = run(db, [void])
    assert (back.old_tier, back.new_tier) == ("low", "low") and stored(db, m).raw_score == 0.395


def test_encounters_retractions_readmissions_gaps_and_segments(db):
    m = ev.member()
    run(db, [ev.roster(m, tier="low")])
    alert = ev.ed_alert(m, datetime(2026, 1, 5, 23, 50, tzinfo=ev.CHI))
    run(db, [alert, ev.ed_claim(m, ("J069",), date(2026, 1, 6)), ev.gap(m, "CMS130", "open",
                                                                        datetime(2026, 1, 2, tzinfo=ev.UTC))])
    util = {u["signal"]: u["value"] for u in view(db, m)["utilization"]}
    assert util == {"admissions": 0, "ed_visits": 1, "readmissions": 0, "open_gaps": 1}
    run(db, [ev.retract(alert), ev.inpatient_discharge(m, datetime(2026, 2, 20, 10, tzinfo=ev.CHI)),
             ev.readmission(m, date(2026, 2, 20)), ev.gap(m, "CMS130", "closed", datetime(2026, 2, 1, tzinfo=ev.UTC)),
             ev.gap(m, "CMS130", "open", datetime(2026, 1, 20, tzinfo=ev.UTC))])      # older: ignored
    util = {u["signal"]: u["value"] for u in view(db, m)["utilization"]}
    assert util == {"admissions": 1, "ed_visits": 1, "readmissions": 1, "open_gaps": 0}   # the claim visit stays
    with db.transaction() as s:
        SqlRiskRepository(s).put_segments({m: Segment("full", True, "0", True)})
    published = []
    stats = full_rescore(transactions(db), ctx(), published.extend)
    assert stats.members >= 1
    assert view(db, m)["score"]["segment"] == "INS"


def test_ed_evidence_from_the_database(db):
    m = ev.member()
    run(db, [ev.roster(m, tier="low", practice="P002"),
             ev.ed_alert(m, datetime(2026, 3, 4, 18, 59, tzinfo=ev.CHI)),    # P002 pre-program: 08-17 -> closed
             ev.ed_alert(m, datetime(2026, 3, 5, 10, 0, tzinfo=ev.CHI), dx="M54.5"),
             ev.ed_claim(m, ("M545",), date(2026, 3, 7))])                     # Saturday: closed all day
    with db.transaction() as s:
        report = ed_evidence(SqlRiskRepository(s), load_practice_hours(), load_avoidable_list())
    (row,) = [r for r in report.rows if r.practice_id == "P002"]
    assert (row.visits, row.closed_hours, row.open_hours, row.unknown_hours, row.avoidable) == (3, 2, 1, 0, 2)


def test_a_batch_rolled_back_counts_nothing_and_its_retry_counts_once(db):
    from prometheus_client import REGISTRY

    def scored() -> float:
        return REGISTRY.get_sample_value("risk_members_scored_total", {"trigger": "event"}) or 0.0

    m = ev.member()
    batch = [ev.roster(m, tier="low"), ev.office_claim(m, ("E1122", "I5022"), date(2026, 2, 20))]
    before = scored()
    with pytest.raises(RuntimeError):
        with db.transaction() as s:
            through_routes(SqlUnitOfWork.for_session(s), batch, ctx())
            raise RuntimeError("the broker did not confirm the tier changes")   # the consumer rolls back
    assert scored() == before and stored(db, m) is None
    run(db, batch)                                                             # redelivered, applied
    assert scored() == before + 1 and stored(db, m) is not None


def test_claim_facts_stored_before_the_one_rule_still_name_the_claim_they_correct(db):
    """A row the release before the rule wrote (no ``orig``, no version stamps; ``family`` named the
    claim a correction corrects) reads as its v1 claim: a void stored then voids the original that
    arrives after the upgrade."""
    import uuid

    from services.risk.adapters import tables as t

    m = ev.member()
    run(db, [ev.roster(m, tier="low")])
    with db.transaction() as s:
        s.execute(t.claims.insert().values(
            member_id=m, event_id=str(uuid.uuid4()), occurred_at=datetime(2026, 3, 1, tzinfo=ev.UTC), ed=False,
            facts={"family": "CLM-OLD", "claim_id": "CLM-OLD-V", "frequency": "8", "from": "2026-02-20",
                   "to": "2026-02-20", "dx": ["I5022"], "ra": True, "ed": None, "ip": None}))
    with db.transaction() as s:
        (void,) = SqlRiskRepository(s).claims([m])[m]
    assert (void.original_claim_id, void.adjudication_date, void.version_sequence) == ("CLM-OLD", None, None)
    assert run(db, [ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20), claim_id="CLM-OLD")]) == []
    assert stored(db, m).raw_score == 0.395
    assert view(db, m)["score"]["hccs"] == []


def test_what_a_version_says_about_when_it_was_made_is_kept_and_decides(db):
    """Two replacements of one claim: the one the payer adjudicated later counts, though it arrived
    first with the earlier event time; its stamps survive the database."""
    m = ev.member()
    run(db, [ev.roster(m, tier="low"), ev.office_claim(m, ("Z0000",), date(2026, 2, 20), claim_id="CLM-S")])
    later = ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20), claim_id="CLM-S2",
                            frequency="7", original="CLM-S", adjudicated=date(2026, 3, 9), sequence=2,
                            at=datetime(2026, 3, 1, tzinfo=ev.UTC))
    earlier = ev.office_claim(m, ("Z0000",), date(2026, 2, 20), claim_id="CLM-S1", frequency="7",
                              original="CLM-S", adjudicated=date(2026, 3, 2), at=datetime(2026, 3, 11, tzinfo=ev.UTC))
    (up,) = run(db, [later])
    assert run(db, [earlier]) == []
    assert (up.new_tier, stored(db, m).raw_score) == ("high", 2.12)
    with db.transaction() as s:
        kept = {c.claim_id: c for c in SqlRiskRepository(s).claims([m])[m]}
    assert (kept["CLM-S2"].adjudication_date, kept["CLM-S2"].version_sequence, kept["CLM-S2"].original_claim_id) == \
        (date(2026, 3, 9), 2, "CLM-S")
    assert {d["claim_id"] for h in view(db, m)["score"]["hccs"] for d in h["diagnoses"]} == {"CLM-S2"}
