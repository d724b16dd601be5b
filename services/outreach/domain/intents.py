"""What a decision asks the wiring to do, idempotent by task key and task id.

Each intent carries the task as it should be stored afterwards. ``expected_version`` is the
version the decision read: write with ``UPDATE … WHERE task_id = :id AND version =
:expected_version`` (zero rows → someone changed it: reload and decide again).

``Reprioritize`` changes only the readmission mark and ``event_ids``: it keeps the version,
so a nurse's action in flight does not fail on it; write only those columns.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Union

from .errors import VersionConflict
from .model import Task, Transition


@dataclass(frozen=True)
class CreateTask:
    action: ClassVar[str] = "create"
    task: Task
    transition: Transition

    @property
    def key(self) -> str:
        return self.task.key

    expected_version: ClassVar[None] = None


@dataclass(frozen=True)
class CloseTask:
    action: ClassVar[str] = "close"
    task: Task
    transition: Transition
    expected_version: int

    @property
    def key(self) -> str:
        return self.task.key


@dataclass(frozen=True)
class CancelTask:
    action: ClassVar[str] = "cancel"
    task: Task
    transition: Transition
    expected_version: int

    @property
    def key(self) -> str:
        return self.task.key


@dataclass(frozen=True)
class RequeueTask:
    action: ClassVar[str] = "requeue"
    task: Task
    transition: Transition
    expected_version: int

    @property
    def key(self) -> str:
        return self.task.key


@dataclass(frozen=True)
class Reprioritize:
    action: ClassVar[str] = "reprioritize"
    task: Task
    expected_version: int
    why: str
    transition: ClassVar[None] = None

    @property
    def key(self) -> str:
        return self.task.key


Intent = Union[CreateTask, CloseTask, CancelTask, RequeueTask, Reprioritize]


def apply_intents(tasks: Mapping[uuid.UUID, Task], intents: Iterable[Intent]) -> dict[uuid.UUID, Task]:
    """Reference semantics of the intents on an in-memory store (tests, replays, tools).

    A create whose id exists, or whose key already has an open task, changes nothing; an
    update checks the version it was decided on.
    """
    out = dict(tasks)
    for intent in intents:
        task = intent.task
        if isinstance(intent, CreateTask):
            if task.task_id in out or any(t.key == task.key and t.is_open for t in out.values()):
                continue
            out[task.task_id] = task
            continue
        current = out.get(task.task_id)
        if current is None:
            raise KeyError("intent for an unknown task")
        if current.version != intent.expected_version:
            raise VersionConflict(intent.expected_version, current.version)
        out[task.task_id] = task
    return out
