from datetime import date

from services.outreach.domain import CancelTask, PriorityContext, Reprioritize, score_task

from .builders import CALENDAR, RULES, T0, Consumer, eid, readmission, roster, transition, transition_cancelled


def _score(task, as_of=date(2026, 3, 3)):
    return score_task(task, PriorityContext(), RULES.priority, CALENDAR, as_of).score


def test_discharge_makes_a_tcm_task_for_the_quality_nurse_due_on_the_contact_date():
    c = Consumer().feed_all([roster(), transition(contact_due=date(2026, 3, 4))])
    task = c.only("tcm")
    assert task.role == "quality_nurse" and task.queue == "quality_nurse:pod-east"
    assert task.due_date == date(2026, 3, 4)
    assert task.visit_due_high == date(2026, 3, 9) and task.visit_due_moderate == date(2026, 3, 16)
    assert "interactive contact due 2026-03-04" in task.reason and "MERCY" in task.reason
    assert task.anchor_date == date(2026, 3, 2) and task.readmitted_on is None


def test_tcm_due_date_falls_back_to_two_business_days_after_discharge():
    # Discharged Wednesday 2026-11-25: Thanksgiving Thursday, Friday, (weekend), Monday.
    at = T0.replace(month=11, day=25, hour=20)
    task = Consumer().feed_all([transition(at=at, contact_due=None)]).only("tcm")
    assert task.due_date == date(2026, 11, 30)


def test_no_tcm_task_when_the_member_died():
    assert Consumer().feed(transition(disposition="20", tcm_applicable=False, diagnoses=())) == []
    # Even if the producer left tcm_applicable on, disposition 20 is configured as "no TCM".
    assert Consumer().feed(transition(disposition="20", tcm_applicable=True, diagnoses=())) == []
    assert Consumer().feed(transition(disposition="01", tcm_applicable=False, diagnoses=())) == []


def test_readmission_stay_makes_a_higher_priority_tcm_task():
    plain = Consumer().feed_all([transition()]).only("tcm")
    readmit = Consumer().feed_all([transition(readmission=True)]).only("tcm")
    assert readmit.readmitted_on is not None
    assert _score(readmit) > _score(plain)
    assert "readmission" in readmit.reason


def test_cancelled_discharge_cancels_its_tcm_task():
    c = Consumer().feed_all([transition()])
    [intent] = c.feed(transition_cancelled())
    assert isinstance(intent, CancelTask)
    assert c.only("tcm").status == "cancelled" and "discharge cancelled" in c.only("tcm").outcome


def test_cancel_of_another_discharge_leaves_the_task():
    c = Consumer().feed_all([transition()])
    assert c.feed(transition_cancelled(transition_id=eid("other"))) == []
    assert c.only("tcm").status == "open"


def test_readmission_raises_the_open_tcm_task_and_a_retraction_lowers_it():
    c = Consumer().feed_all([transition()])
    base = c.only("tcm")
    [bump] = c.feed(readmission(admit_date=date(2026, 3, 3)))
    assert isinstance(bump, Reprioritize)
    raised = c.only("tcm")
    assert raised.readmitted_on == date(2026, 3, 3)
    assert raised.version == base.version  # a priority change does not fight with a nurse's work
    assert _score(raised) > _score(base)
    # the same readmission again (new event id, same readmission) changes nothing
    assert c.feed(readmission(admit_date=date(2026, 3, 3))) == []
    c.feed(readmission(retracted=True))
    assert _score(c.only("tcm")) == _score(base)


def test_readmission_without_an_open_tcm_task_does_nothing():
    c = Consumer().feed_all([transition(), transition_cancelled()])
    assert c.feed(readmission()) == []


def test_transition_pod_wins_over_roster_then_practice_mapping():
    assert Consumer().feed_all([roster(pod="pod-north"), transition(pod="pod-west")]).only("tcm").pod == "pod-west"
    assert Consumer().feed_all([roster(pod="pod-north"), transition(pod=None)]).only("tcm").pod == "pod-north"
    assert Consumer().feed_all([transition(pod=None)]).only("tcm").pod == "pod-east"
