"""Transition record → ``shared.events.TaskLifecycleV1`` for the ``outreach.tasks`` topic."""

from __future__ import annotations

from shared.events import TaskLifecycleV1, derive_id

from .model import Task, Transition

SOURCE = "outreach"


def lifecycle_event(task: Task, transition: Transition, *, source: str = SOURCE) -> TaskLifecycleV1:
    """The event for one transition of ``task`` (the task as it is after the transition).

    Its id is derived from the task id and the version the transition produced, and its
    times are the transition's: replaying the same history yields the same events.
    """
    if transition.task_id != task.task_id:
        raise ValueError("the transition belongs to another task")
    return TaskLifecycleV1(
        **TaskLifecycleV1.envelope(
            occurred_at=transition.at, recorded_at=transition.at, source=source, member_id=task.member_id,
            causation_id=transition.cause_event_id,
            event_id=derive_id(task.task_id, f"lifecycle:v{transition.version}"),
        ),
        task_id=task.task_id,
        kind=task.kind,
        reason_key=task.reason_key,
        queue=task.queue,
        role=task.role,
        from_status=transition.from_status,
        to_status=transition.to_status,
        actor=transition.actor,
        assignee=transition.assignee,
        outcome=transition.outcome,
        channel=transition.channel,
        appointment_date=transition.appointment_date,
        due_date=task.due_date,
        priority=task.priority,
        practice_id=task.practice_id,
        contract_id=task.contract_id,
    )
