from datetime import date, datetime, timezone

import pytest

from services.outreach.domain import CloseTask, CreateTask, claim, record_attempt
from shared.events import Evidence

from .builders import T0, Consumer, gap_closed, gap_excluded, gap_opened, roster

TITLES = {
    "CMS130": "Schedule colorectal cancer screening (colonoscopy or FIT)",
    "CMS125": "Schedule a mammogram",
    "CMS122": "HbA1c above 9% or missing: arrange a test / visit",
    "CMS165": "Blood pressure not controlled: arrange a BP check",
    "FUP": "Post-discharge follow-up visit",
}


@pytest.mark.parametrize("measure", sorted(TITLES))
def test_gap_opened_makes_a_task_a_nurse_understands(measure):
    evidence = (Evidence(code="82274", code_system="CPT", date=date(2023, 1, 10), claim_id="CLM-0009"),)
    c = Consumer().feed_all([roster(), gap_opened(measure, reason="last FIT 2023-01-10, expired", evidence=evidence)])
    task = c.only("gap")
    assert task.title == TITLES[measure]
    assert task.reason == "last FIT 2023-01-10, expired"
    assert task.evidence[0].claim_id == "CLM-0009" and task.evidence[0].code == "82274"
    assert task.status == "open" and task.reason_key == measure
    assert task.queue == ("care_navigator:pod-east" if measure == "FUP" else "quality_nurse:pod-east")


def test_gap_task_due_date_is_sla_business_days_but_never_after_the_gap_due_date():
    # Known Monday 2026-03-02; CMS130 has a 10 business day SLA -> Monday 2026-03-16.
    assert Consumer().feed_all([gap_opened("CMS130")]).only().due_date == date(2026, 3, 16)
    # The gap itself is due sooner (e.g. a follow-up window ending): the gap's date wins.
    assert Consumer().feed_all([gap_opened("FUP", due=date(2026, 3, 5))]).only().due_date == date(2026, 3, 5)


def test_second_gap_opened_for_the_same_open_key_changes_nothing():
    c = Consumer().feed_all([gap_opened("CMS122")])
    before = dict(c.tasks)
    assert c.feed(gap_opened("CMS122", at=T0.replace(day=5), reason="another evaluation")) == []
    assert c.tasks == before


def test_gap_closed_closes_the_task_naming_the_evidence():
    c = Consumer().feed_all([gap_opened("CMS130")])
    intents = c.feed(gap_closed("CMS130", at=T0.replace(month=4, day=20)))
    assert [type(i) for i in intents] == [CloseTask]
    task = c.only()
    assert task.status == "done"
    assert task.outcome.startswith("gap closed by claim")
    assert "CLM-0001" in task.outcome and "45378" in task.outcome and "2026-04-10" in task.outcome
    assert intents[0].transition.actor == "system" and intents[0].transition.from_status == "open"


def test_gap_closed_names_the_latest_evidence_and_the_lapse_for_due_soon():
    evidence = (Evidence(code="82274", code_system="CPT", date=date(2026, 2, 1), claim_id="CLM-1"),
                Evidence(code="45378", code_system="CPT", date=date(2026, 4, 1), claim_id="CLM-2"))
    c = Consumer().feed_all([gap_opened("CMS130")])
    closed = gap_closed("CMS130", evidence=evidence, status="due_soon").model_copy(
        update={"lapses_on": date(2026, 6, 1)})
    c.feed(closed)
    outcome = c.only().outcome
    assert "CLM-2" in outcome and "CLM-1" not in outcome and "lapses on 2026-06-01" in outcome


def test_gap_closed_while_a_nurse_works_the_task_still_closes_it():
    c = Consumer().feed_all([gap_opened("CMS125")])
    task = c.only()
    at = datetime(2026, 3, 3, 15, tzinfo=timezone.utc)
    task = record_attempt(claim(task, actor="nurse.a", at=at, expected_version=1).task, actor="nurse.a", at=at,
                          expected_version=2, channel="phone", outcome="no_answer").task
    c.tasks[task.task_id] = task
    c.feed(gap_closed("CMS125", at=T0))  # the event time is older than the nurse's work
    done = c.only()
    assert done.status == "done" and done.version == task.version + 1
    assert done.updated_at >= task.updated_at  # history reads in order


def test_gap_excluded_cancels_with_the_reason():
    c = Consumer().feed_all([gap_opened("CMS130"), gap_excluded("CMS130")])
    task = c.only()
    assert task.status == "cancelled"
    assert "total colectomy" in task.outcome


def test_close_without_an_open_task_does_nothing():
    assert Consumer().feed(gap_closed("CMS165")) == []


def test_gap_reopening_after_close_makes_a_new_task():
    c = Consumer().feed_all([gap_opened("CMS130"), gap_closed("CMS130"), gap_opened("CMS130", at=T0.replace(month=7))])
    statuses = sorted(t.status for t in c.tasks.values())
    assert statuses == ["done", "open"]


def test_no_task_for_a_member_who_left_the_roster():
    assert Consumer().feed_all([roster(status="termed"), gap_opened()]).tasks == {}
    ended = roster(eligibility=((date(2025, 1, 1), date(2026, 1, 31)),))
    assert Consumer().feed_all([ended, gap_opened()]).tasks == {}


def test_pod_comes_from_the_roster_then_the_practice_then_the_default():
    assert Consumer().feed_all([roster(pod="pod-north"), gap_opened()]).only().pod == "pod-north"
    assert Consumer().feed_all([roster(pod=None), gap_opened()]).only().pod == "pod-east"  # P001 -> pod-east
    unmapped = roster(pod=None, practice="P999")
    task = Consumer().feed_all([unmapped, gap_opened()]).only()
    assert task.pod == "pod-east"  # the gap names P001, which is mapped
    no_practice = gap_opened().model_copy(update={"practice_id": "P999"})
    assert Consumer().feed_all([unmapped, no_practice]).only().pod == "unassigned"


def test_task_id_is_derived_from_the_cause_event():
    from services.outreach.domain import task_id_for
    from shared.events import derive_id

    event = gap_opened("CMS130")
    [intent] = Consumer().feed(event)
    assert isinstance(intent, CreateTask)
    assert intent.task.task_id == derive_id(event.event_id, f"task:{intent.task.key}") == task_id_for(
        event.event_id, intent.task.key)
