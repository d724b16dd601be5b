from dataclasses import replace
from datetime import date, timedelta

from services.outreach.domain import CancelTask, RequeueTask, apply_intents, on_eligibility_check

from .builders import T0, Consumer, claim, gap_closed, gap_opened, roster, transition


def _member_with_tasks() -> Consumer:
    return Consumer().feed_all([
        roster(), gap_opened("CMS130"), gap_opened("CMS122"), gap_closed("CMS122"),
        transition(), claim(("Z590",)),
    ])


def test_termination_cancels_every_open_task_and_leaves_finished_ones():
    c = _member_with_tasks()
    open_before = {t.task_id for t in c.open_tasks()}
    assert len(open_before) == 3
    intents = c.feed(roster(status="termed", at=T0 + timedelta(days=1)))
    assert {i.task.task_id for i in intents} == open_before
    assert all(isinstance(i, CancelTask) for i in intents)
    assert c.open_tasks() == []
    by_status = sorted(t.status for t in c.tasks.values())
    assert by_status == ["cancelled", "cancelled", "cancelled", "done"]
    assert all(t.outcome == "member left the roster" for t in c.tasks.values() if t.status == "cancelled")


def test_eligibility_ending_before_today_cancels_open_tasks():
    c = _member_with_tasks()
    ended = roster(eligibility=((date(2026, 1, 1), date(2026, 3, 31)),), at=T0 + timedelta(days=1))
    assert c.feed(ended, as_of=date(2026, 3, 31)) == []  # still eligible that day
    c.feed(ended, as_of=date(2026, 4, 1))
    assert c.open_tasks() == []


def test_a_pod_change_moves_unclaimed_tasks_only():
    c = _member_with_tasks()
    claimed = next(t for t in c.open_tasks() if t.kind == "tcm")
    c.tasks[claimed.task_id] = replace(claimed, status="claimed", assignee="nurse.a", version=2)
    intents = c.feed(roster(pod="pod-west", at=T0 + timedelta(days=1)))
    assert intents and all(isinstance(i, RequeueTask) for i in intents)
    pods = {t.kind: t.pod for t in c.open_tasks()}
    assert pods == {"gap": "pod-west", "social": "pod-west", "tcm": "pod-east"}
    # the same snapshot again changes nothing
    assert c.feed(roster(pod="pod-west", at=T0 + timedelta(days=2))) == []


def test_a_snapshot_without_eligibility_spans_cancels_nothing():
    c = _member_with_tasks()
    assert c.feed(roster(eligibility=(), at=T0 + timedelta(days=1))) == []
    assert len(c.open_tasks()) == 3


def test_the_daily_sweep_cancels_tasks_when_eligibility_ran_out_once():
    c = Consumer().feed_all([roster(eligibility=((date(2026, 1, 1), date(2026, 3, 31)),)), gap_opened("CMS130")])
    assert on_eligibility_check(c.state(), c.ctx, date(2026, 3, 31)) == []
    intents = on_eligibility_check(c.state(), c.ctx, date(2026, 4, 1))
    assert len(intents) == 1 and intents[0].task.outcome == "member not eligible on 2026-04-01"
    c.tasks = apply_intents(c.tasks, intents)
    assert c.open_tasks() == [] and on_eligibility_check(c.state(), c.ctx, date(2026, 4, 1)) == []
