"""Who gets a task: continuity first, then the least-loaded worker of the queue under her
capacity, else the task waits unassigned in its queue. And "claim next" for a nurse."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .model import Task
from .priority import order_queue
from .staff import StaffMember


@dataclass(frozen=True)
class Assignment:
    assignee: str | None
    rule: Literal["continuity", "least_loaded", "unassigned"]
    why: str


def assign(task: Task, staff: Iterable[StaffMember], loads: Mapping[str, int],
           member_tasks: Iterable[Task] = ()) -> Assignment:
    """Pick the assignee for a new (or returned) task.

    ``loads``: open tasks per user (:func:`staff.workloads`) not counting ``task``.
    ``member_tasks``: the member's other tasks; an open one held by a worker of this queue
    who is under capacity makes her the assignee (the member keeps talking to one nurse).
    Ties: more of this member's tasks, then lower load, then user id.
    """
    eligible = {s.user_id: s for s in staff if s.works(task.role, task.pod)}
    queue = task.queue
    if not eligible:
        return Assignment(None, "unassigned", f"nobody works {queue}")

    def under(user_id: str) -> bool:
        return loads.get(user_id, 0) < eligible[user_id].capacity

    held = Counter(t.assignee for t in member_tasks
                   if t.task_id != task.task_id and t.is_open and t.assignee in eligible)
    continuing = [u for u in held if under(u)]
    if continuing:
        best = min(continuing, key=lambda u: (-held[u], loads.get(u, 0), u))
        n = held[best]
        return Assignment(best, "continuity",
                          f"continuity: already holds {n} open task{'s' if n != 1 else ''} of this member")
    free = [u for u in eligible if under(u)]
    if not free:
        return Assignment(None, "unassigned", f"everyone in {queue} is at capacity")
    best = min(free, key=lambda u: (loads.get(u, 0), u))
    return Assignment(best, "least_loaded",
                      f"least loaded in {queue}: {loads.get(best, 0)} of {eligible[best].capacity} open tasks")


def claim_next(tasks: Iterable[Task], user: StaffMember) -> Task | None:
    """The highest-priority open task in the user's queues that nobody else holds.

    The wiring makes it atomic (``SELECT … FOR UPDATE SKIP LOCKED`` in the same order) and
    then calls :func:`workflow.claim` with the version it read.
    """
    queues = user.queues()
    candidates = [t for t in tasks if t.status == "open" and t.queue in queues
                  and t.assignee in (None, user.user_id)]
    ordered = order_queue(candidates)
    return ordered[0] if ordered else None
