from datetime import date, timedelta

import pytest

from .builders import T0, Consumer, claim, roster, transition


def kinds(c: Consumer) -> list[str]:
    return sorted(t.kind for t in c.tasks.values())


@pytest.mark.parametrize("code", ["Z550", "Z59.0", "Z5941", "z65.8", "Z60"])
def test_social_needs_diagnosis_makes_a_social_worker_task(code):
    c = Consumer().feed_all([roster(), claim((code,))])
    task = c.only("social")
    assert task.role == "social_worker" and task.queue == "social_worker:pod-east"
    assert "CLM-0100" in task.reason and task.evidence[0].claim_id == "CLM-0100"
    assert task.evidence[0].date == date(2026, 2, 20)
    assert task.due_date == date(2026, 3, 9)  # 5 business days after Monday 2026-03-02


@pytest.mark.parametrize("code", ["Z5489", "Z66", "Z00", "E119", "I10"])
def test_other_diagnoses_make_no_social_task(code):
    assert Consumer().feed_all([roster(), claim((code,))]).tasks == {}


def test_obesity_alone_makes_no_dietician_task():
    assert Consumer().feed_all([roster(), claim(("E6601",))]).tasks == {}


@pytest.mark.parametrize("companion", ["E119", "E10.9", "E1300", "I10", "I110", "I169"])
def test_obesity_with_diabetes_or_hypertension_on_one_claim_makes_a_dietician_task(companion):
    task = Consumer().feed_all([roster(), claim(("E66.9", companion))]).only("dietician")
    assert task.role == "dietician" and task.queue == "dietician:pod-east"


@pytest.mark.parametrize("companion", ["I170", "E08", "E14"])
def test_obesity_with_other_conditions_makes_no_dietician_task(companion):
    assert Consumer().feed_all([roster(), claim(("E669", companion))]).tasks == {}


def test_obesity_with_diabetes_known_from_an_earlier_claim_makes_a_dietician_task():
    c = Consumer().feed_all([roster(), claim(("E119",), claim_id="CLM-1")])
    assert c.tasks == {}
    c.feed(claim(("E6601",), claim_id="CLM-2", at=T0 + timedelta(days=3)))
    task = c.only("dietician")
    assert "E6601" in task.reason and "E119" in task.reason  # the page says why


def test_one_open_task_per_member_and_rule():
    c = Consumer().feed_all([roster(), claim(("Z590",), claim_id="CLM-1"), claim(("Z591",), claim_id="CLM-2")])
    assert kinds(c) == ["social"]


def test_a_new_referral_only_after_the_renewal_period():
    c = Consumer().feed_all([roster(), claim(("Z590",), claim_id="CLM-1")])
    task = c.only("social")
    from dataclasses import replace
    c.tasks[task.task_id] = replace(task, status="done")
    c.feed(claim(("Z590",), claim_id="CLM-2", at=T0 + timedelta(days=30)))
    assert kinds(c) == ["social"]  # 30 days < 90 renew_after_days
    c.feed(claim(("Z590",), claim_id="CLM-3", at=T0 + timedelta(days=91)))
    assert kinds(c) == ["social", "social"]


def test_void_claims_trigger_nothing():
    assert Consumer().feed_all([roster(), claim(("Z590",), frequency="8")]).tasks == {}


def test_care_transition_diagnoses_trigger_referrals_too():
    c = Consumer().feed_all([roster(), transition(diagnoses=("Z59.0", "E66.01", "I10"))])
    assert kinds(c) == ["dietician", "social", "tcm"]


def test_no_referral_for_a_termed_member():
    assert Consumer().feed_all([roster(status="termed"), claim(("Z590",))]).tasks == {}
