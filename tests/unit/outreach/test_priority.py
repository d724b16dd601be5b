from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.outreach.domain import PriorityContext, order_queue, priority_context, score_task
from services.outreach.domain.model import TASK_KINDS

from .builders import CALENDAR, RULES, T0, Consumer, gap_opened, readmission, roster, transition

W = RULES.priority
AS_OF = date(2026, 3, 10)  # a Tuesday


def base_task(**changes):
    return replace(Consumer().feed_all([gap_opened("CMS130")]).only(), **changes)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(TASK_KINDS),
    due_offset=st.one_of(st.none(), st.integers(-60, 60)),
    tier=st.sampled_from(["low", "moderate", "high", "complex"]),
    gaps=st.integers(0, 12),
    discharge=st.one_of(st.none(), st.integers(0, 60)),
    readmit=st.one_of(st.none(), st.integers(0, 60)),
    as_of=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
)
def test_the_explanation_sums_to_the_score(kind, due_offset, tier, gaps, discharge, readmit, as_of):
    task = base_task(kind=kind, due_date=None if due_offset is None else as_of + timedelta(days=due_offset))
    ctx = PriorityContext(
        risk_tier=tier, open_gaps=gaps,
        last_discharge=None if discharge is None else as_of - timedelta(days=discharge),
        last_readmission=None if readmit is None else as_of - timedelta(days=readmit),
    )
    result = score_task(task, ctx, W, CALENDAR, as_of)
    assert result.score == sum(line.points for line in result.lines)
    assert [line.factor for line in result.lines] == ["due", "risk", "open_gaps", "admission", "kind"]
    assert all(line.why for line in result.lines)


def score(task, ctx=PriorityContext(), as_of=AS_OF):
    return score_task(task, ctx, W, CALENDAR, as_of).score


def test_overdue_outranks_due_today_outranks_due_soon_outranks_later():
    days = [date(2026, 3, 5), AS_OF, date(2026, 3, 12), date(2026, 3, 17), date(2026, 5, 1), None]
    scores = [score(base_task(due_date=d)) for d in days]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1] > scores[2] > scores[3] > scores[4]


def test_longer_overdue_scores_higher_up_to_the_cap():
    week = score(base_task(due_date=AS_OF - timedelta(days=7)))
    day = score(base_task(due_date=AS_OF - timedelta(days=1)))
    ages = [score(base_task(due_date=AS_OF - timedelta(days=n))) for n in range(1, 200)]
    assert week > day and max(ages) - score(base_task(due_date=None)) == W.overdue_cap


def test_risk_gaps_and_recent_readmission_each_raise_the_score():
    t = base_task(due_date=date(2026, 4, 30))
    plain = score(t)
    assert score(t, PriorityContext(risk_tier="complex")) > score(t, PriorityContext(risk_tier="high")) > plain
    assert score(t, PriorityContext(open_gaps=3)) > score(t, PriorityContext(open_gaps=1)) > plain
    recent_admit = PriorityContext(last_discharge=AS_OF - timedelta(days=5))
    recent_readmit = PriorityContext(last_readmission=AS_OF - timedelta(days=5))
    old_readmit = PriorityContext(last_readmission=AS_OF - timedelta(days=45))
    assert score(t, recent_readmit) > score(t, recent_admit) > score(t, old_readmit) == plain


def test_explanation_lines_say_why_in_words():
    t = base_task(due_date=date(2026, 3, 6))
    lines = {line.factor: line for line in score_task(
        t, PriorityContext(risk_tier="high", open_gaps=2), W, CALENDAR, AS_OF).lines}
    assert lines["due"].why == "overdue since 2026-03-06 (2 business days late)"
    assert lines["risk"].why == "risk tier high" and lines["open_gaps"].why == "2 open care gaps"


def test_priority_context_from_the_member_state():
    c = Consumer().feed_all([roster(risk_tier="complex"), gap_opened("CMS130"), gap_opened("CMS122"),
                             transition(diagnoses=()), readmission(admit_date=date(2026, 3, 3))])
    ctx = priority_context(c.state())
    assert ctx == PriorityContext(risk_tier="complex", open_gaps=2, last_discharge=date(2026, 3, 2),
                                  last_readmission=date(2026, 3, 3))


def test_queue_order_is_score_then_due_date_then_creation():
    a = base_task(priority=50.0, due_date=date(2026, 3, 20))
    b = replace(a, task_id=a.task_id.__class__(int=1), priority=80.0)
    c = replace(a, task_id=a.task_id.__class__(int=2), due_date=date(2026, 3, 15))
    d = replace(a, task_id=a.task_id.__class__(int=3), created_at=T0 - timedelta(hours=1))
    assert order_queue([a, b, c, d]) == [b, c, d, a]


def test_a_readmission_dated_after_the_queues_local_day_still_raises_priority():
    # 01:00 UTC on the 11th is still the 10th in the queue's time zone: the hospital's admit date
    # is "tomorrow" there, and the readmission must count all the same.
    task = base_task(due_date=AS_OF + timedelta(days=3))
    plain = score_task(task, PriorityContext(), W, CALENDAR, AS_OF)
    ahead = score_task(task, PriorityContext(last_readmission=AS_OF + timedelta(days=1)), W, CALENDAR, AS_OF)
    assert ahead.score == plain.score + W.readmission
    assert "dated after today" in next(line.why for line in ahead.lines if line.factor == "admission")
