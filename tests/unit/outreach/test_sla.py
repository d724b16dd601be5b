from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.outreach.domain import (
    DecisionContext, StaffMember, business_days_left, due_after, is_overdue, supervisor_view,
)
from shared.calendar import BusinessCalendar

from .builders import CALENDAR, RULES, Consumer, gap_opened, transition

UTC = timezone.utc


def gap_task_known_at(at: datetime, measure: str = "CMS122", calendar: BusinessCalendar = CALENDAR):
    c = Consumer(ctx=DecisionContext(RULES, calendar))
    return c.feed_all([gap_opened(measure, at=at, due=None)]).only()


def test_sla_skips_the_weekend():
    # CMS122: 5 business days. Known Friday 2026-03-06 -> Friday 2026-03-13.
    assert gap_task_known_at(datetime(2026, 3, 6, 15, tzinfo=UTC)).due_date == date(2026, 3, 13)


def test_sla_skips_federal_holidays():
    # Known Thursday 2026-07-02; Friday 07-03 is Independence Day observed -> Friday 07-10.
    assert gap_task_known_at(datetime(2026, 7, 2, 15, tzinfo=UTC)).due_date == date(2026, 7, 10)
    # Known Wednesday 2026-12-23: Christmas Friday, New Year's Day Friday -> 2026-12-31.
    assert gap_task_known_at(datetime(2026, 12, 23, 15, tzinfo=UTC)).due_date == date(2026, 12, 31)


def test_sla_skips_a_local_holiday_from_the_calendar():
    local = BusinessCalendar(extra=[date(2026, 3, 9)])
    assert gap_task_known_at(datetime(2026, 3, 6, 15, tzinfo=UTC), calendar=local).due_date == date(2026, 3, 16)


def test_the_day_is_the_local_day_not_utc():
    # 03:00 UTC Friday is still Thursday evening in New York: the clock starts Thursday.
    assert gap_task_known_at(datetime(2026, 3, 6, 3, tzinfo=UTC)).due_date == date(2026, 3, 12)


def test_tcm_contact_over_a_weekend_and_holiday_when_the_event_has_no_date():
    # Discharged Thursday 2026-07-02 (task known that evening): Fri 07-03 holiday -> Mon, Tue 07-07.
    task = Consumer().feed_all([transition(at=datetime(2026, 7, 2, 22, tzinfo=UTC), contact_due=None,
                                           diagnoses=())]).only()
    assert task.due_date == date(2026, 7, 7)


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2026, 1, 1), date(2028, 12, 31)), st.integers(0, 30))
def test_due_after_lands_on_a_business_day_exactly_n_business_days_later(start, n):
    due = due_after(start, n, CALENDAR)
    assert CALENDAR.business_days_between(start, due) == n
    if n:
        assert CALENDAR.is_business_day(due)
        assert (due - start).days >= n


def test_overdue_only_after_the_due_day_and_only_before_contact():
    task = gap_task_known_at(datetime(2026, 3, 6, 15, tzinfo=UTC))  # due 2026-03-13
    assert not is_overdue(task, date(2026, 3, 13))
    assert is_overdue(task, date(2026, 3, 14))
    assert is_overdue(replace(task, status="in_progress"), date(2026, 3, 16))
    for status in ("scheduled", "done", "cancelled", "unable_to_reach"):
        assert not is_overdue(replace(task, status=status), date(2026, 3, 16))
    assert not is_overdue(replace(task, due_date=None), date(2030, 1, 1))


def test_business_days_left_counts_down_and_goes_negative():
    task = gap_task_known_at(datetime(2026, 3, 6, 15, tzinfo=UTC))  # due Friday 2026-03-13
    assert business_days_left(task, date(2026, 3, 9), CALENDAR) == 4
    assert business_days_left(task, date(2026, 3, 13), CALENDAR) == 0
    assert business_days_left(task, date(2026, 3, 17), CALENDAR) == -2


def test_supervisor_view_counts_depth_overdue_and_unassigned_per_queue_and_nurse():
    base = gap_task_known_at(datetime(2026, 3, 2, 15, tzinfo=UTC))  # due 2026-03-09
    as_of = date(2026, 3, 10)
    tasks = [
        replace(base, task_id=base.task_id.__class__(int=1)),  # open, unassigned, overdue
        replace(base, task_id=base.task_id.__class__(int=2), assignee="nurse.a", status="claimed"),  # overdue
        replace(base, task_id=base.task_id.__class__(int=3), assignee="nurse.a", status="scheduled"),
        replace(base, task_id=base.task_id.__class__(int=4), assignee="nurse.a", status="in_progress",
                due_date=as_of),  # due today
        replace(base, task_id=base.task_id.__class__(int=5), status="done", assignee="nurse.a"),  # not counted
        replace(base, task_id=base.task_id.__class__(int=6), pod="pod-west", assignee="nurse.w",
                due_date=as_of + timedelta(days=3)),
    ]
    staff = [StaffMember("nurse.a", roles=frozenset({"quality_nurse"}), pods=frozenset({"pod-east"}), capacity=5),
             StaffMember("nurse.idle", roles=frozenset({"quality_nurse"}), pods=frozenset({"pod-east"})),
             StaffMember("nurse.w", roles=frozenset({"quality_nurse"}), pods=frozenset({"pod-west"}))]
    view = supervisor_view(tasks, as_of, staff=staff, pods=["pod-east"])
    [east] = view.queues
    assert (east.queue, east.depth, east.unassigned, east.overdue, east.due_today) == (
        "quality_nurse:pod-east", 4, 1, 2, 1)
    assert dict(east.by_status) == {"open": 1, "claimed": 1, "in_progress": 1, "scheduled": 1}
    nurses = {n.user_id: n for n in view.nurses}
    assert set(nurses) == {"nurse.a", "nurse.idle"}  # pod-west stays out of an east supervisor's view
    assert (nurses["nurse.a"].depth, nurses["nurse.a"].overdue, nurses["nurse.a"].capacity) == (3, 1, 5)
    assert nurses["nurse.idle"].depth == 0
    everything = supervisor_view(tasks, as_of)
    assert [q.queue for q in everything.queues] == ["quality_nurse:pod-east", "quality_nurse:pod-west"]
    assert everything.total_overdue == 2
