"""Priority score with its explanation: the page shows each (factor, points, why) line and
the score is their sum. The queue sorts by score, then due date, then creation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shared.calendar import BusinessCalendar

from .members import MemberState
from .model import Task
from .rules import PriorityWeights


@dataclass(frozen=True)
class PriorityContext:
    """Member facts the score uses (the wiring may build it from its own tables)."""

    risk_tier: str = "low"
    open_gaps: int = 0
    last_discharge: date | None = None
    last_readmission: date | None = None


@dataclass(frozen=True)
class PriorityLine:
    factor: str  # due, risk, open_gaps, admission, kind
    points: int
    why: str


@dataclass(frozen=True)
class PriorityScore:
    score: float
    lines: tuple[PriorityLine, ...]


def priority_context(state: MemberState) -> PriorityContext:
    """Best effort from what outreach stores: roster risk tier, open gap tasks, TCM tasks."""
    open_gaps = sum(1 for t in state.tasks if t.kind == "gap" and t.is_open)
    discharges = [t.anchor_date for t in state.tasks if t.kind == "tcm" and t.anchor_date]
    readmits = [t.readmitted_on for t in state.tasks if t.readmitted_on]
    return PriorityContext(
        risk_tier=state.profile.risk_tier if state.profile else "low",
        open_gaps=open_gaps,
        last_discharge=max(discharges, default=None),
        last_readmission=max(readmits, default=None),
    )


def _due_line(task: Task, w: PriorityWeights, cal: BusinessCalendar, as_of: date) -> PriorityLine:
    due = task.due_date
    if due is None:
        return PriorityLine("due", 0, "no due date")
    if due < as_of:
        late = cal.business_days_between(due, as_of)
        points = min(w.overdue_cap, w.overdue_base + w.overdue_per_business_day * late)
        return PriorityLine("due", points, f"overdue since {due.isoformat()} ({late} business days late)")
    if due == as_of:
        return PriorityLine("due", w.due_today, "due today")
    left = cal.business_days_between(as_of, due)
    for window in w.due_within:
        if left <= window.business_days:
            return PriorityLine("due", window.points, f"due {due.isoformat()}, in {left} business days")
    return PriorityLine("due", 0, f"due {due.isoformat()}, in {left} business days")


def _recent(day: date | None, as_of: date, days: int) -> bool:
    """Within the last ``days`` days — or dated after ``as_of``: a hospital's date can be ahead of
    the service's local day (time zones, the evening in the queue's zone), and an admission that
    has only just happened is the most recent there is."""
    return day is not None and (as_of - day).days <= days


def _ago(day: date, as_of: date) -> str:
    n = (as_of - day).days
    return f"{n} days ago" if n > 0 else "today" if n == 0 else "dated after today"


def _admission_line(task: Task, ctx: PriorityContext, w: PriorityWeights, as_of: date) -> PriorityLine:
    readmits = [d for d in (task.readmitted_on, ctx.last_readmission) if _recent(d, as_of, w.recent_days)]
    if readmits:
        day = max(readmits)
        return PriorityLine("admission", w.readmission,
                            f"readmitted {day.isoformat()} ({_ago(day, as_of)})")
    discharges = [d for d in (task.anchor_date, ctx.last_discharge) if _recent(d, as_of, w.recent_days)]
    if discharges:
        day = max(discharges)
        return PriorityLine("admission", w.admission,
                            f"discharged {day.isoformat()} ({_ago(day, as_of)})")
    return PriorityLine("admission", 0, f"no admission in the last {w.recent_days} days")


def score_task(task: Task, ctx: PriorityContext, weights: PriorityWeights, calendar: BusinessCalendar,
               as_of: date) -> PriorityScore:
    gaps = max(0, ctx.open_gaps)
    lines = (
        _due_line(task, weights, calendar, as_of),
        PriorityLine("risk", weights.risk_tier.get(ctx.risk_tier, 0), f"risk tier {ctx.risk_tier}"),
        PriorityLine("open_gaps", min(weights.open_gaps_cap, weights.per_open_gap * gaps),
                     f"{gaps} open care gap{'s' if gaps != 1 else ''}"),
        _admission_line(task, ctx, weights, as_of),
        PriorityLine("kind", weights.kind.get(task.kind, 0), f"{task.kind} task"),
    )
    return PriorityScore(float(sum(line.points for line in lines)), lines)


def queue_sort_key(task: Task) -> tuple[float, date, datetime, str]:
    """Highest score first, then the earliest due date (none last), then the oldest, then id."""
    return (-task.priority, task.due_date or date.max, task.created_at, str(task.task_id))


def order_queue(tasks: Iterable[Task]) -> list[Task]:
    return sorted(tasks, key=queue_sort_key)
