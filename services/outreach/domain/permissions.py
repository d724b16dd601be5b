"""Who may do what, as a pure function.

- nurse (front-line staff): sees tasks and queues of her own pods only; claims tasks of her
  queues; works (attempt, schedule, complete, release) the tasks she holds.
- supervisor: sees her pods' tasks, queues and the supervisor view; reassigns and cancels
  there; does not work tasks herself.
- ops: aggregates only (no member data).
- admin: everything.

A nurse or supervisor asking for a task outside her pods is refused with ``hide=True``
(the API answers 404: the task's existence must not leak).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import PermissionDenied
from .model import Task, parse_queue
from .staff import StaffMember

Action = Literal[
    "view_task", "view_queue", "claim", "work", "reassign", "cancel", "supervise", "aggregates", "manage_staff",
]
TASK_ACTIONS = frozenset({"view_task", "claim", "work", "reassign", "cancel"})


@dataclass(frozen=True)
class Permission:
    allowed: bool
    reason: str = ""
    hide: bool = False  # refuse as "not found"


ALLOW = Permission(True)


def _deny(reason: str, hide: bool = False) -> Permission:
    return Permission(False, reason, hide)


def authorize(user: StaffMember, action: Action, *, task: Task | None = None, queue: str | None = None,
              pod: str | None = None) -> Permission:
    """May ``user`` do ``action`` (on ``task``, ``queue`` or ``pod``)?"""
    if not user.active:
        return _deny("user is inactive")
    if action in TASK_ACTIONS and task is None:
        raise ValueError(f"{action} needs a task")
    if user.access == "admin":
        return ALLOW
    if user.access == "ops":
        return ALLOW if action == "aggregates" else _deny("ops users see aggregates only")
    if action == "manage_staff":
        return _deny("only admins manage staff")
    if action == "aggregates":
        return ALLOW if user.access == "supervisor" else _deny("aggregates are for supervisors and ops")

    scope = task.pod if task is not None else (parse_queue(queue)[1] if queue else pod)
    if scope is None:
        raise ValueError(f"{action} needs a task, a queue or a pod")
    if scope not in user.pods:
        return _deny("outside the user's pods", hide=task is not None)

    if user.access == "supervisor":
        if action in ("view_task", "view_queue", "reassign", "cancel", "supervise"):
            return ALLOW
        return _deny("supervisors reassign; they do not work tasks")

    # front-line staff
    if action == "view_task":
        return ALLOW
    if action == "view_queue":
        role = parse_queue(queue)[0] if queue else None
        return ALLOW if role is None or role in user.roles else _deny("not a queue of the user's roles")
    if action == "claim":
        if task.role not in user.roles:
            return _deny("not a queue of the user's roles")
        return ALLOW  # held by someone else: workflow.claim refuses it as a conflict (409)
    if action == "work":
        return ALLOW if task.assignee == user.user_id else _deny("only the assignee works the task")
    return _deny(f"{user.access} may not {action}")


def require(user: StaffMember, action: Action, *, task: Task | None = None, queue: str | None = None,
            pod: str | None = None) -> None:
    """:func:`authorize` that raises ``PermissionDenied`` (``hide`` → answer 404)."""
    decision = authorize(user, action, task=task, queue=queue, pod=pod)
    if not decision.allowed:
        raise PermissionDenied(decision.reason, hide=decision.hide)
