from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from services.outreach.domain import (
    IllegalTransition, InvalidCommand, StaffMember, Task, VersionConflict, cancel, claim, complete,
    lifecycle_event, reassign, record_attempt, release, schedule, time_to_first_contact,
)
from services.outreach.domain.model import STATUSES
from services.outreach.domain.rules import WorkflowPolicy
from services.outreach.domain.workflow import system_cancel, system_close

from .builders import Consumer, gap_opened, roster

AT = datetime(2026, 3, 3, 15, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in New York
NURSE = StaffMember("nurse.a", roles=frozenset({"quality_nurse"}), pods=frozenset({"pod-east"}), capacity=2)
OTHER = StaffMember("nurse.b", roles=frozenset({"quality_nurse"}), pods=frozenset({"pod-east"}), capacity=2)


def new_task() -> Task:
    return Consumer().feed_all([roster(), gap_opened("CMS130")]).only()


def in_status(status: str) -> Task:
    assignee = None if status == "open" else "nurse.a"
    return replace(new_task(), status=status, assignee=assignee, version=5)


def test_a_shift_open_to_done_records_every_step():
    t = new_task()
    steps = []
    c = claim(t, actor="nurse.a", at=AT, expected_version=1)
    steps.append(c)
    c = record_attempt(c.task, actor="nurse.a", at=AT + timedelta(minutes=5), expected_version=2,
                       channel="phone", outcome="no_answer", note="no voicemail")
    steps.append(c)
    c = record_attempt(c.task, actor="nurse.a", at=AT + timedelta(hours=3), expected_version=3,
                       channel="phone", outcome="reached")
    steps.append(c)
    c = schedule(c.task, actor="nurse.a", at=AT + timedelta(hours=3), expected_version=4,
                 appointment_date=date(2026, 3, 20))
    steps.append(c)
    c = complete(c.task, actor="nurse.a", at=AT + timedelta(days=20), expected_version=5,
                 outcome="colonoscopy done")
    steps.append(c)
    path = [(s.transition.from_status, s.transition.to_status) for s in steps]
    assert path == [("open", "claimed"), ("claimed", "in_progress"), ("in_progress", "in_progress"),
                    ("in_progress", "scheduled"), ("scheduled", "done")]
    assert [s.transition.version for s in steps] == [2, 3, 4, 5, 6]
    assert all(s.transition.actor == "nurse.a" for s in steps)
    final = c.task
    assert final.status == "done" and final.outcome == "colonoscopy done"
    assert final.appointment_date == date(2026, 3, 20) and final.closed_at is not None
    assert [a.outcome for a in final.attempts] == ["no_answer", "reached"]
    assert steps[1].transition.note == "no voicemail" and steps[1].transition.channel == "phone"
    assert time_to_first_contact(final) == AT + timedelta(hours=3) - t.created_at
    event = lifecycle_event(steps[3].task, steps[3].transition)
    assert event.to_status == "scheduled" and event.appointment_date == date(2026, 3, 20)
    assert event.queue == "quality_nurse:pod-east" and event.actor == "nurse.a" and event.kind == "gap"


def test_two_nurses_claiming_the_same_version_one_wins():
    t = new_task()
    won = claim(t, actor="nurse.a", at=AT, expected_version=1).task
    with pytest.raises(VersionConflict):  # nurse.b read version 1 too, and was slower
        claim(won, actor="nurse.b", at=AT, expected_version=1)
    with pytest.raises(IllegalTransition):  # nurse.b reloaded: it is claimed now
        claim(won, actor="nurse.b", at=AT, expected_version=won.version)


def test_a_task_assigned_to_another_nurse_cannot_be_claimed():
    t = replace(new_task(), assignee="nurse.b")
    with pytest.raises(IllegalTransition):
        claim(t, actor="nurse.a", at=AT, expected_version=1)
    assert claim(t, actor="nurse.b", at=AT, expected_version=1).task.status == "claimed"


COMMANDS = {  # name -> (task, version the caller read) -> Change
    "claim": lambda t, v: claim(t, actor="nurse.a", at=AT, expected_version=v),
    "release": lambda t, v: release(t, actor="nurse.a", at=AT, expected_version=v),
    "attempt": lambda t, v: record_attempt(t, actor="nurse.a", at=AT, expected_version=v, channel="text",
                                           outcome="left_message"),
    "schedule": lambda t, v: schedule(t, actor="nurse.a", at=AT, expected_version=v,
                                      appointment_date=date(2026, 3, 10)),
    "complete": lambda t, v: complete(t, actor="nurse.a", at=AT, expected_version=v, outcome="done"),
    "cancel": lambda t, v: cancel(t, actor="sup", at=AT, expected_version=v, reason="duplicate"),
    "reassign": lambda t, v: reassign(t, actor="sup", at=AT, expected_version=v, to=OTHER),
    "system_close": lambda t, v: system_close(t, at=AT, outcome="gap closed", cause_event_id=t.cause_event_id),
    "system_cancel": lambda t, v: system_cancel(t, at=AT, reason="left", cause_event_id=t.cause_event_id),
}
LIVE = {"open", "claimed", "in_progress", "scheduled"}
ALLOWED = {
    "claim": {"open"},
    "release": {"claimed"},
    "attempt": {"claimed", "in_progress"},
    "schedule": {"in_progress", "scheduled"},
    "complete": {"in_progress", "scheduled"},
    "cancel": LIVE, "reassign": LIVE, "system_close": LIVE, "system_cancel": LIVE,
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_transition_is_allowed_or_refused_by_the_state_machine(command, status):
    task = in_status(status)
    if status in ALLOWED[command]:
        change = COMMANDS[command](task, task.version)
        assert change.transition.from_status == status
        assert change.task.version == task.version + 1
    else:
        with pytest.raises(IllegalTransition):
            COMMANDS[command](task, task.version)


@pytest.mark.parametrize("command", ["claim", "release", "attempt", "schedule", "complete", "cancel", "reassign"])
def test_a_stale_version_is_a_conflict(command):
    status = next(s for s in STATUSES if s in ALLOWED[command])
    task = in_status(status)
    stale = replace(task, version=task.version + 1)  # someone changed it after our read
    with pytest.raises(VersionConflict):
        COMMANDS[command](stale, task.version)


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_unable_to_reach_after_the_configured_number_of_failed_attempts(limit):
    policy = WorkflowPolicy(unable_to_reach_after=limit)
    task = claim(new_task(), actor="nurse.a", at=AT, expected_version=1).task
    outcomes = ["no_answer", "left_message", "wrong_number"]
    for n in range(1, limit + 1):
        change = record_attempt(task, actor="nurse.a", at=AT + timedelta(hours=n), expected_version=task.version,
                                channel="phone", outcome=outcomes[n % 3], policy=policy)
        task = change.task
        assert task.status == ("unable_to_reach" if n == limit else "in_progress")
    assert task.outcome == f"unable to reach after {limit} failed attempts"
    assert change.transition.to_status == "unable_to_reach"


def test_reaching_the_member_restarts_the_failed_attempt_count():
    policy = WorkflowPolicy(unable_to_reach_after=2)
    task = claim(new_task(), actor="nurse.a", at=AT, expected_version=1).task
    for outcome in ["no_answer", "reached", "no_answer"]:
        task = record_attempt(task, actor="nurse.a", at=AT, expected_version=task.version, channel="phone",
                              outcome=outcome, policy=policy).task
    assert task.status == "in_progress"
    task = record_attempt(task, actor="nurse.a", at=AT, expected_version=task.version, channel="letter",
                          outcome="no_answer", policy=policy).task
    assert task.status == "unable_to_reach"


def test_a_declining_member_ends_the_task():
    task = claim(new_task(), actor="nurse.a", at=AT, expected_version=1).task
    change = record_attempt(task, actor="nurse.a", at=AT, expected_version=2, channel="portal", outcome="declined")
    assert change.task.status == "done" and change.task.outcome == "declined by member"


@pytest.mark.parametrize("channel,outcome,field", [("fax", "reached", "channel"), ("phone", "busy", "outcome")])
def test_unknown_channels_and_outcomes_are_invalid(channel, outcome, field):
    task = claim(new_task(), actor="nurse.a", at=AT, expected_version=1).task
    with pytest.raises(InvalidCommand) as err:
        record_attempt(task, actor="nurse.a", at=AT, expected_version=2, channel=channel, outcome=outcome)
    assert err.value.field == field


def test_an_appointment_in_the_past_is_invalid_but_today_is_fine():
    task = in_status("in_progress")
    with pytest.raises(InvalidCommand) as err:
        schedule(task, actor="nurse.a", at=AT, expected_version=5, appointment_date=date(2026, 3, 2))
    assert err.value.field == "appointment_date"
    # 01:00 UTC on the 4th is still the 3rd in New York: the 3rd is "today"
    late = datetime(2026, 3, 4, 1, 0, tzinfo=timezone.utc)
    assert schedule(task, actor="nurse.a", at=late, expected_version=5,
                    appointment_date=date(2026, 3, 3)).task.status == "scheduled"


def test_completing_needs_an_outcome_and_cancelling_a_reason():
    with pytest.raises(InvalidCommand):
        complete(in_status("scheduled"), actor="nurse.a", at=AT, expected_version=5, outcome="  ")
    with pytest.raises(InvalidCommand):
        cancel(in_status("open"), actor="sup", at=AT, expected_version=5, reason="")


def test_release_returns_the_task_to_the_queue_unassigned():
    change = release(in_status("claimed"), actor="nurse.a", at=AT, expected_version=5)
    assert change.task.status == "open" and change.task.assignee is None


def test_reassign_respects_queue_membership_and_capacity():
    task = in_status("in_progress")
    outsider = StaffMember("nurse.w", roles=frozenset({"quality_nurse"}), pods=frozenset({"pod-west"}))
    with pytest.raises(InvalidCommand):
        reassign(task, actor="sup", at=AT, expected_version=5, to=outsider)
    dietician = StaffMember("diet.a", roles=frozenset({"dietician"}), pods=frozenset({"pod-east"}))
    with pytest.raises(InvalidCommand):
        reassign(task, actor="sup", at=AT, expected_version=5, to=dietician)
    with pytest.raises(InvalidCommand):
        reassign(task, actor="sup", at=AT, expected_version=5, to=OTHER, to_load=2)  # at capacity 2
    forced = reassign(task, actor="sup", at=AT, expected_version=5, to=OTHER, to_load=2, allow_over_capacity=True)
    assert forced.task.assignee == "nurse.b" and forced.task.status == "in_progress"
    assert forced.transition.note == "reassigned from nurse.a to nurse.b" and forced.transition.actor == "sup"
    with pytest.raises(InvalidCommand):
        reassign(task, actor="sup", at=AT, expected_version=5, to=NURSE)  # already hers


def test_unassigning_returns_a_claimed_task_to_open_but_not_work_in_progress():
    assert reassign(in_status("claimed"), actor="sup", at=AT, expected_version=5, to=None).task.status == "open"
    with pytest.raises(IllegalTransition):
        reassign(in_status("scheduled"), actor="sup", at=AT, expected_version=5, to=None)


def test_lifecycle_events_have_ids_derived_from_task_and_version():
    t = new_task()
    a = claim(t, actor="nurse.a", at=AT, expected_version=1)
    b = claim(t, actor="nurse.a", at=AT, expected_version=1)
    ea, eb = lifecycle_event(a.task, a.transition), lifecycle_event(b.task, b.transition)
    assert ea.event_id == eb.event_id and ea.member_id == t.member_id and ea.assignee == "nurse.a"
    later = release(a.task, actor="nurse.a", at=AT, expected_version=2)
    assert lifecycle_event(later.task, later.transition).event_id != ea.event_id
