"""SLAs in business days, the overdue flag, and the supervisor's counts per queue and nurse."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from shared.calendar import BusinessCalendar

from .model import AWAITING_CONTACT, STATUSES, TERMINAL, Task, parse_queue
from .staff import StaffMember


def due_after(start: date, business_days: int, calendar: BusinessCalendar) -> date:
    """The due date ``business_days`` business days after ``start`` (start itself never counts)."""
    return calendar.add_business_days(start, business_days)


def is_overdue(task: Task, as_of: date) -> bool:
    """Past its due date and nobody has reached the member yet (open, claimed, in progress).
    Due today is not overdue; a scheduled or finished task is never overdue."""
    return task.status in AWAITING_CONTACT and task.due_date is not None and task.due_date < as_of


def business_days_left(task: Task, as_of: date, calendar: BusinessCalendar) -> int | None:
    """Business days from ``as_of`` to the due date; negative when overdue; None without a due date."""
    if task.due_date is None:
        return None
    return calendar.business_days_between(as_of, task.due_date)


def time_to_first_contact(task: Task) -> timedelta | None:
    """From the task's creation to the first attempt that reached the member (a metric)."""
    reached = next((a for a in task.attempts if a.outcome == "reached"), None)
    return None if reached is None else reached.at - task.created_at


@dataclass(frozen=True)
class QueueStats:
    queue: str
    role: str
    pod: str
    depth: int  # tasks not finished
    unassigned: int
    overdue: int
    due_today: int
    by_status: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class NurseStats:
    user_id: str
    depth: int
    overdue: int
    capacity: int | None
    by_queue: tuple[tuple[str, int, int], ...]  # (queue, depth, overdue)


@dataclass(frozen=True)
class SupervisorView:
    as_of: date
    queues: tuple[QueueStats, ...]
    nurses: tuple[NurseStats, ...]

    @property
    def total_overdue(self) -> int:
        return sum(q.overdue for q in self.queues)


def supervisor_view(tasks: Iterable[Task], as_of: date, *, staff: Iterable[StaffMember] = (),
                    pods: Iterable[str] | None = None) -> SupervisorView:
    """Depth, unassigned, overdue and due-today per queue; depth and overdue per nurse.

    ``pods`` limits the view (a supervisor's pods); ``staff`` adds capacity and lists idle
    workers of those pods with zeros.
    """
    allowed = frozenset(pods) if pods is not None else None
    live = [t for t in tasks if t.status not in TERMINAL and (allowed is None or t.pod in allowed)]
    by_queue: dict[str, list[Task]] = defaultdict(list)
    for t in live:
        by_queue[t.queue].append(t)
    queues = []
    for queue in sorted(by_queue):
        items = by_queue[queue]
        role, pod = parse_queue(queue)
        counts = Counter(t.status for t in items)
        queues.append(QueueStats(
            queue=queue, role=role, pod=pod, depth=len(items),
            unassigned=sum(1 for t in items if t.assignee is None),
            overdue=sum(1 for t in items if is_overdue(t, as_of)),
            due_today=sum(1 for t in items if t.due_date == as_of and t.status in AWAITING_CONTACT),
            by_status=tuple((s, counts[s]) for s in STATUSES if counts[s]),
        ))
    capacity: dict[str, int] = {}
    per_nurse: dict[str, Counter] = defaultdict(Counter)
    late_nurse: dict[str, Counter] = defaultdict(Counter)
    for member in staff:
        if member.access == "nurse" and (allowed is None or member.pods & allowed):
            capacity[member.user_id] = member.capacity
            per_nurse[member.user_id]  # idle workers are listed too
    for t in live:
        if t.assignee:
            per_nurse[t.assignee][t.queue] += 1
            late_nurse[t.assignee][t.queue] += is_overdue(t, as_of)
    nurses = tuple(
        NurseStats(
            user_id=user, depth=sum(per_nurse[user].values()), overdue=sum(late_nurse[user].values()),
            capacity=capacity.get(user),
            by_queue=tuple((q, per_nurse[user][q], late_nurse[user][q]) for q in sorted(per_nurse[user])),
        )
        for user in sorted(per_nurse)
    )
    return SupervisorView(as_of, tuple(queues), nurses)
