"""Outreach metrics. Labels are bounded sets (queue = role:pod, status, role, kind, outcome
category); never a member, a task id or free text.

The gauges are refreshed from the database by the worker's timer (``maintenance.py``), so they
count what is stored, whichever process changed it. Counters and the histogram are counted by
the process that made the change, after its transaction committed.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from .domain import Task, Transition, time_to_first_contact

TASKS_OPEN = Gauge("outreach_tasks_open", "Tasks not finished, by queue and status", ["queue", "status"])
TASKS_OVERDUE = Gauge("outreach_tasks_overdue", "Tasks past their due date with nobody reached yet", ["queue"])
TIME_TO_FIRST_CONTACT = Histogram(
    "outreach_time_to_first_contact_seconds", "Task creation to the first attempt that reached the member",
    ["role"],
    buckets=(3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 3 * 86400, 5 * 86400, 7 * 86400, 14 * 86400,
             30 * 86400),
)
TASKS_COMPLETED = Counter("outreach_tasks_completed_total", "Tasks finished, by kind and outcome category",
                          ["kind", "outcome"])
TASKS_CREATED = Counter("outreach_tasks_created_total", "Tasks created, by kind", ["kind"])
# the member's risk view on the task page (adapters/risk_api.py): where each view shown came from
# (live, cached, stale, unavailable, not_found, not_connected) and the risk API calls (ok, not_found, error)
RISK_VIEWS = Counter("outreach_risk_views_total", "Risk views the task page asked for, by where the answer came from",
                     ["source"])
RISK_API_SECONDS = Histogram("outreach_risk_api_seconds", "Calls to the risk API for a member's risk view",
                             ["outcome"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))

# outcome categories (the label); the free-text outcome stays on the task
OUTCOMES = ("gap_closed", "completed", "declined", "unable_to_reach", "cancelled", "closed_by_system")


def outcome_category(task: Task, transition: Transition) -> str:
    status = transition.to_status
    if status == "unable_to_reach":
        return "unable_to_reach"
    if status == "cancelled":
        return "cancelled"
    if transition.actor == "system":
        return "gap_closed" if task.kind == "gap" else "closed_by_system"
    if transition.outcome == "declined by member":
        return "declined"
    return "completed"


def count_finished(task: Task, transition: Transition) -> None:
    TASKS_COMPLETED.labels(task.kind, outcome_category(task, transition)).inc()


def observe_first_contact(before: Task, after: Task) -> None:
    """Observe once: when ``after`` has a reached attempt and ``before`` had none."""
    if time_to_first_contact(before) is not None:
        return
    elapsed = time_to_first_contact(after)
    if elapsed is not None:
        TIME_TO_FIRST_CONTACT.labels(after.role).observe(max(0.0, elapsed.total_seconds()))


_seen_open: set[tuple[str, str]] = set()
_seen_overdue: set[str] = set()


def set_queue_gauges(open_counts: Iterable[tuple[str, str, int]], overdue_counts: Iterable[tuple[str, int]]) -> None:
    """Replace the gauges' values; label sets no longer present drop to zero."""
    now_open = {}
    for queue, status, n in open_counts:
        now_open[(queue, status)] = n
    for key in _seen_open - set(now_open):
        TASKS_OPEN.labels(*key).set(0)
    for key, n in now_open.items():
        TASKS_OPEN.labels(*key).set(n)
    _seen_open.update(now_open)
    now_overdue = dict(overdue_counts)
    for queue in _seen_overdue - set(now_overdue):
        TASKS_OVERDUE.labels(queue).set(0)
    for queue, n in now_overdue.items():
        TASKS_OVERDUE.labels(queue).set(n)
    _seen_overdue.update(now_overdue)
