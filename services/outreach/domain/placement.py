"""Give a new task its assignee and priority before it is stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date

from shared.calendar import BusinessCalendar

from .assignment import Assignment, assign
from .intents import CreateTask
from .model import Task
from .priority import PriorityContext, PriorityScore, score_task
from .rules import PriorityWeights
from .staff import StaffMember


def rescore(task: Task, ctx: PriorityContext, weights: PriorityWeights, calendar: BusinessCalendar,
            as_of: date) -> tuple[Task, PriorityScore]:
    """The task with its priority recomputed (run daily and after reprioritize/roster changes)."""
    score = score_task(task, ctx, weights, calendar, as_of)
    return replace(task, priority=score.score), score


def place_new_task(intent: CreateTask, *, staff: Iterable[StaffMember], loads: Mapping[str, int],
                   member_tasks: Iterable[Task], priority_ctx: PriorityContext, weights: PriorityWeights,
                   calendar: BusinessCalendar, as_of: date) -> tuple[CreateTask, Assignment, PriorityScore]:
    """Assign (continuity, least loaded, else unassigned) and score the task of a create intent.

    Call it with the staff of the task's queue and current loads, for each create intent in
    order, adding 1 to the chosen assignee's load before the next one.
    """
    chosen = assign(intent.task, staff, loads, member_tasks)
    task, score = rescore(replace(intent.task, assignee=chosen.assignee), priority_ctx, weights, calendar, as_of)
    record = replace(intent.transition, assignee=chosen.assignee,
                     note=f"{intent.transition.note}; {chosen.why}")
    return CreateTask(task, record), chosen, score
