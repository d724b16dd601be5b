"""The staff directory as data: who works which queues, in which pods, with what capacity."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .model import QUEUE_ROLES, QueueRole, Task, queue_id

AccessRole = Literal["nurse", "supervisor", "ops", "admin"]
ACCESS_ROLES: tuple[str, ...] = AccessRole.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StaffMember:
    """A user. ``access`` decides what she may do; ``roles`` and ``pods`` which queues she
    works (front-line staff: quality nurses, navigators, social workers, dieticians all have
    access ``nurse``). A supervisor's ``pods`` are the pods she oversees."""

    user_id: str
    access: AccessRole = "nurse"
    roles: frozenset[QueueRole] = frozenset()
    pods: frozenset[str] = frozenset()
    capacity: int = 25
    active: bool = True
    display_name: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("user_id is required")
        if self.access not in ACCESS_ROLES:
            raise ValueError("access must be one of nurse, supervisor, ops, admin")
        if not set(self.roles) <= set(QUEUE_ROLES):
            raise ValueError("roles must be queue roles")
        if self.capacity < 0:
            raise ValueError("capacity must be >= 0")

    def works(self, role: str, pod: str) -> bool:
        """Can hold tasks of this queue (active front-line staff with the role and the pod)."""
        return self.active and self.access == "nurse" and role in self.roles and pod in self.pods

    def queues(self) -> frozenset[str]:
        if not self.active or self.access != "nurse":
            return frozenset()
        return frozenset(queue_id(r, p) for r in self.roles for p in self.pods)


def staff_from_records(records: Iterable[Mapping[str, Any]]) -> tuple[StaffMember, ...]:
    """Build the directory from plain rows (YAML, JSON, database): lists become frozensets."""
    out = []
    for row in records:
        out.append(StaffMember(
            user_id=str(row["user_id"]),
            access=row.get("access", "nurse"),
            roles=frozenset(row.get("roles", ())),
            pods=frozenset(row.get("pods", ())),
            capacity=int(row.get("capacity", 25)),
            active=bool(row.get("active", True)),
            display_name=row.get("display_name"),
        ))
    ids = [s.user_id for s in out]
    if len(ids) != len(set(ids)):
        raise ValueError("user ids must be unique in the staff directory")
    return tuple(out)


def workloads(tasks: Iterable[Task]) -> dict[str, int]:
    """Open (non-terminal) tasks per assignee: what capacity is measured against."""
    return dict(Counter(t.assignee for t in tasks if t.is_open and t.assignee))
