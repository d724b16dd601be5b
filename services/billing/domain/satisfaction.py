"""Satisfaction metrics folded from outreach task events, and which value of a metric counts.

``median_days_to_appointment``: for each task that reached ``scheduled`` with an appointment
date, the days from the task's opening (its first lifecycle event by event time) to the
appointment; the median over the tasks scheduled in [``start``, ``as_of``] (event time) under
the contract. Depends only on the set of events, so a replay gives the live value.

A value fed through the API for a contract month (``MetricValue``) wins over the value the
platform computed from task events: the API is how a payer's own survey or report is entered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from statistics import median

from .facts import MetricValue

MEDIAN_DAYS_TO_APPOINTMENT = "median_days_to_appointment"


@dataclass(frozen=True, slots=True)
class TaskStep:
    """The slice of a ``task.lifecycle`` event the metric needs."""

    task_id: str
    contract_id: str | None
    to_status: str
    occurred_at: datetime
    appointment_date: date | None
    event_id: str = ""


def median_days_to_appointment(steps: Iterable[TaskStep], contract_id: str, start: date, as_of: date) -> MetricValue | None:
    """Median days from a task's opening to its appointment (None when no task was scheduled)."""
    by_task: dict[str, list[TaskStep]] = {}
    for s in steps:
        if s.occurred_at.date() <= as_of:
            by_task.setdefault(s.task_id, []).append(s)
    days: list[int] = []
    for task_steps in by_task.values():
        task_steps.sort(key=lambda s: (s.occurred_at, s.event_id))
        opened = task_steps[0].occurred_at.date()
        scheduled = [s for s in task_steps if s.to_status == "scheduled" and s.appointment_date is not None]
        if not scheduled:
            continue
        last = scheduled[-1]
        contract = last.contract_id or next((s.contract_id for s in task_steps if s.contract_id), None)
        if contract != contract_id or not start <= last.occurred_at.date() <= as_of:
            continue
        assert last.appointment_date is not None
        days.append(max((last.appointment_date - opened).days, 0))
    if not days:
        return None
    return MetricValue(Fraction(median(days)).limit_denominator(2), None, len(days))


def chosen_metrics(computed: Mapping[str, MetricValue | None], fed: Mapping[str, MetricValue]) -> dict[str, MetricValue]:
    """The metrics of a contract month: fed values win over computed ones; None leaves out."""
    out = {k: v for k, v in computed.items() if v is not None}
    out.update(fed)
    return out
