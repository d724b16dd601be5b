"""Outreach domain: pure decisions, no I/O. Plain dataclasses in and out.

Entry points the wiring calls:

- events → intents: :func:`decide` with a :class:`MemberState` and a :class:`DecisionContext`;
  new tasks then go through :func:`place_new_task` (assignment + priority).
- nurse and supervisor commands: :mod:`.workflow` (claim, release, record_attempt, schedule,
  complete, cancel, reassign) after :func:`require` (permissions).
- queues: :func:`claim_next`, :func:`order_queue`, :func:`supervisor_view`, :func:`is_overdue`.
- every transition → :func:`lifecycle_event` (``TaskLifecycleV1``).
"""

from __future__ import annotations

from .assignment import Assignment, assign, claim_next
from .creation import DecisionContext
from .decisions import decide, on_eligibility_check
from .errors import IllegalTransition, InvalidCommand, OutreachError, PermissionDenied, VersionConflict
from .intents import CancelTask, CloseTask, CreateTask, Intent, Reprioritize, RequeueTask, apply_intents
from .lifecycle import lifecycle_event
from .members import MemberProfile, MemberState, diagnosis_codes, profile_from_roster, resolve_pod
from .model import (
    Attempt, Task, Transition, parse_queue, queue_id, task_id_for, task_key,
)
from .permissions import Permission, authorize, require
from .placement import place_new_task, rescore
from .priority import PriorityContext, PriorityLine, PriorityScore, order_queue, priority_context, score_task
from .rules import RulesConfig, parse_rules, rules_from_mapping
from .sla import (
    NurseStats, QueueStats, SupervisorView, business_days_left, due_after, is_overdue, supervisor_view,
    time_to_first_contact,
)
from .staff import StaffMember, staff_from_records, workloads
from .workflow import (
    Change, cancel, claim, complete, reassign, record_attempt, release, schedule,
)

__all__ = [
    "Assignment", "Attempt", "CancelTask", "Change", "CloseTask", "CreateTask", "DecisionContext",
    "IllegalTransition", "Intent", "InvalidCommand", "MemberProfile", "MemberState",
    "NurseStats", "OutreachError", "Permission", "PermissionDenied", "PriorityContext", "PriorityLine",
    "PriorityScore", "QueueStats", "Reprioritize", "RequeueTask", "RulesConfig", "StaffMember",
    "SupervisorView", "Task", "Transition", "VersionConflict", "apply_intents", "assign", "authorize",
    "business_days_left", "cancel", "claim", "claim_next", "complete", "decide", "diagnosis_codes",
    "due_after", "is_overdue", "lifecycle_event", "on_eligibility_check", "order_queue", "parse_queue",
    "parse_rules", "place_new_task", "priority_context", "profile_from_roster", "queue_id", "reassign",
    "record_attempt", "release", "require", "rescore", "resolve_pod", "rules_from_mapping", "schedule",
    "score_task", "staff_from_records", "supervisor_view", "task_id_for", "task_key",
    "time_to_first_contact", "workloads",
]
