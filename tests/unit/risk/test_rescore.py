"""The worker's use case on an in-memory repository: facts in, assessments and tier changes out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.risk.adapters.reference import load_normalization, load_policies
from services.risk.app.rescore import explain_member
from services.risk.app.context import RiskContext
from services.risk.app.ed_report import ed_evidence
from services.risk.adapters.reference import load_avoidable_list, load_practice_hours
from services.risk.routes import ROUTES
from shared.events import RiskTierChangedV1

from . import events as ev
from .fakes import InMemoryRiskRepository, apply_batch

TODAY = date(2026, 3, 12)


def ctx(today: date = TODAY) -> RiskContext:
    return RiskContext(load_policies(), load_normalization(), lambda: today)


def run(repo, events, today=TODAY):
    return apply_batch(repo, events, ctx(today))


def view(repo, m, today=TODAY):
    return explain_member(repo, m, ctx(today))


def test_claims_with_hcc_diagnoses_raise_the_tier_from_next_month_with_the_drivers():
    repo, m = InMemoryRiskRepository(), ev.member()
    assert run(repo, [ev.roster(m, tier="low")]) == []           # demographics alone: F 72 0.395 -> low
    out = run(repo, [ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20), claim_id="CLM-A")])
    assert len(out) == 1
    e = out[0]
    assert isinstance(e, RiskTierChangedV1)
    assert (e.old_tier, e.new_tier, e.effective_date, e.decided_on) == ("low", "high", date(2026, 4, 1), TODAY)
    assert e.risk_score == 2.12 and e.payment_score == 1.87 and e.model == "CMS-HCC V28"
    assert {h.hcc: (h.diagnoses, h.claim_ids) for h in e.hccs}["226"] == (("I5022",), ("CLM-A",))
    assert e.reasons == ("risk score 2.120 >= 1.8",)
    assert [(s.start, s.tier) for s in e.history] == [(date(2026, 4, 1), "high")]
    v = view(repo, m)
    assert v["tier"]["computed"] == "high" and v["tier"]["in_force"] == "low"   # until April
    assert v["score"]["hccs"][0]["diagnoses"][0]["claim_id"] == "CLM-A"
    assert repo.assessment(m).reasons == ("risk score 2.120 >= 1.8",)


def test_a_void_takes_the_diagnoses_away_and_cancels_the_pending_change():
    repo, m = InMemoryRiskRepository(), ev.member()
    run(repo, [ev.roster(m, tier="low")])
    first = ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20), claim_id="CLM-A")
    assert run(repo, [first])[0].new_tier == "high"
    void = ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20), claim_id="CLM-A",
                           frequency="8", at=datetime(2026, 3, 10, tzinfo=ev.UTC))
    (e,) = run(repo, [void])
    assert (e.old_tier, e.new_tier, e.history) == ("low", "low", ())
    assert repo.assessment(m).raw_score == 0.395


def test_a_claim_not_eligible_for_risk_adjustment_adds_no_hcc():
    repo, m = InMemoryRiskRepository(), ev.member()
    run(repo, [ev.roster(m, tier="low")])
    # a lab line only (85025 is not a face-to-face encounter code): its diagnoses do not count
    out = run(repo, [ev.office_claim(m, ("I5022",), date(2026, 2, 20), cpt="85025")])
    assert out == [] and view(repo, m)["score"]["hccs"] == []


def test_utilization_decides_when_the_score_is_low_and_retractions_count_out():
    repo, m = InMemoryRiskRepository(), ev.member()
    run(repo, [ev.roster(m, tier="low")])
    a1 = ev.ed_alert(m, datetime(2026, 2, 3, 21, 15, tzinfo=ev.CHI))
    (e,) = run(repo, [a1])
    assert (e.new_tier, e.utilization.ed_visits_12m) == ("moderate", 1)
    assert e.reasons == ("ED visits in 12 months: 1 >= 1",)
    (back,) = run(repo, [ev.retract(a1)])
    assert back.new_tier == "low" and back.utilization.ed_visits_12m == 0


def test_adt_and_claims_ed_visits_count_once_and_stays_and_readmissions_count():
    repo, m = InMemoryRiskRepository(), ev.member()
    run(repo, [ev.roster(m, tier="low")])
    events = [
        ev.ed_alert(m, datetime(2026, 1, 5, 23, 50, tzinfo=ev.CHI)),
        ev.ed_claim(m, ("J069",), date(2026, 1, 6)),                   # the same visit, billed after midnight
        ev.ed_claim(m, ("M545",), date(2026, 2, 14)),                  # a claims-only visit
        ev.inpatient_discharge(m, datetime(2026, 2, 20, 10, 0, tzinfo=ev.CHI)),
        ev.readmission(m, date(2026, 2, 20)),
        ev.gap(m, "CMS130", "open", datetime(2026, 1, 1, tzinfo=ev.UTC)),
    ]
    (e,) = run(repo, events)
    u = e.utilization
    assert (u.ed_visits_12m, u.admissions_12m, u.readmissions_12m, u.open_gaps) == (2, 1, 1, 1)
    assert e.new_tier == "complex"                                    # a readmission
    run(repo, [ev.gap(m, "CMS130", "closed", datetime(2026, 3, 1, tzinfo=ev.UTC))])
    assert view(repo, m)["utilization"][3] == {"signal": "open_gaps", "label": "open care gaps", "value": 0}


def test_a_contract_that_keeps_the_roster_tier_publishes_nothing_but_shows_the_computed_tier():
    repo, m = InMemoryRiskRepository(), ev.member()
    run(repo, [ev.roster(m, tier="moderate", contract="GR-2026")])
    assert run(repo, [ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20))]) == []
    t = view(repo, m)["tier"]
    assert (t["computed"], t["in_force"], t["authority"]) == ("high", "moderate", "roster")


def test_the_same_decision_twice_publishes_once_and_the_replay_gets_the_same_id():
    repo, m = InMemoryRiskRepository(), ev.member()
    roster = ev.roster(m, tier="low")
    c = ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20))
    (first,) = run(repo, [roster, c])
    assert run(repo, [c]) == []                                       # redelivered: nothing new
    again = InMemoryRiskRepository()
    (replayed,) = run(again, [roster, c])
    assert replayed.event_id == first.event_id


def test_claims_before_the_roster_are_kept_and_scored_when_the_member_arrives():
    repo, m = InMemoryRiskRepository(), ev.member()
    assert run(repo, [ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20))]) == []
    (e,) = run(repo, [ev.roster(m, tier="low")])
    assert e.new_tier == "high"


def test_diagnoses_older_than_twelve_months_do_not_count():
    repo, m = InMemoryRiskRepository(), ev.member()
    run(repo, [ev.roster(m, tier="low")])
    assert run(repo, [ev.office_claim(m, ("I5022", "N184"), TODAY - timedelta(days=365))]) == []
    assert repo.assessment(m).raw_score == 0.395


def test_every_route_goes_to_a_use_case_and_the_ed_evidence_reads_the_same_facts():
    assert all(callable(r.use_case) for r in ROUTES.routes)
    repo, m = InMemoryRiskRepository(), ev.member()
    run(repo, [ev.roster(m, tier="low"), ev.ed_alert(m, datetime(2026, 2, 3, 19, 1, tzinfo=ev.CHI)),
               ev.ed_claim(m, ("J069",), date(2026, 2, 3))])
    report = ed_evidence(repo, load_practice_hours(), load_avoidable_list())
    (row,) = report.rows
    assert (row.practice_id, row.month, row.visits, row.closed_hours, row.from_both) == ("P001", "2026-02", 1, 1, 1)


def test_an_unchanged_assessment_is_not_written_again_and_the_view_needs_the_roster():
    repo, m = InMemoryRiskRepository(), ev.member()
    assert view(repo, m) is None
    run(repo, [ev.roster(m, tier="low")])
    written = []
    original = repo.put_assessments
    repo.put_assessments = lambda rows: (written.extend(rows), original(rows))
    run(repo, [ev.gap(m, "CMS130", "closed", datetime(2026, 1, 1, tzinfo=ev.UTC))])   # nothing changes
    assert written == []
    run(repo, [ev.ed_alert(m, datetime(2026, 2, 3, 21, 15, tzinfo=ev.CHI))])
    assert [w.computed_tier for w in written] == ["moderate"]


def _sample(name: str, labels: dict) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_batch_is_counted_once_its_transaction_committed_and_never_before():
    from .fakes import InMemoryUnitOfWork, through_routes

    repo, m = InMemoryRiskRepository(), ev.member()
    scored = {"trigger": "event"}
    change = {"contract": "MMO-2026", "old_tier": "low", "new_tier": "high"}
    before = _sample("risk_members_scored_total", scored), _sample("risk_tier_changes_total", change)
    uow = InMemoryUnitOfWork(repo)
    (e,) = through_routes(uow, [ev.roster(m, tier="low"),
                                ev.office_claim(m, ("E1122", "I5022", "J449", "N184"), date(2026, 2, 20))], ctx())
    assert (e.old_tier, e.new_tier) == ("low", "high")
    assert (_sample("risk_members_scored_total", scored), _sample("risk_tier_changes_total", change)) == before
    uow.commit()
    assert _sample("risk_members_scored_total", scored) == before[0] + 1      # one member, two events
    assert _sample("risk_tier_changes_total", change) == before[1] + 1
