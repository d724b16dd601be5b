"""Who may do what.

- Subscriptions are made, changed and deleted by ``ops`` and ``admin`` only. A subscription may
  be owned by a practice or a hospitalist group: it is then confined to that owner's members
  (its filters are narrowed to the owner, see ``filters.py``).
- A practice's user (a user whose ``practices`` name it) sees only the subscriptions owned by
  her practices, and their delivery logs and events; a hospitalist those of her groups.
- FHIR reads (Encounter, Patient, DetectedIssue, Task) and ``$events``: admins and ops see every
  member; anyone else only the members of her practices, hospitalist groups or pods.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Audience
from .subscription import Subscription

MANAGERS = ("ops", "admin")


@dataclass(frozen=True)
class Actor:
    id: str
    roles: frozenset[str]
    practices: frozenset[str] = frozenset()
    hospitalist_groups: frozenset[str] = frozenset()
    pods: frozenset[str] = frozenset()

    @property
    def role(self) -> str:
        for r in ("admin", "ops", "hospitalist", "supervisor"):
            if r in self.roles:
                return r
        return "practice" if self.practices else (next(iter(self.roles), "none"))

    @property
    def manages(self) -> bool:
        return bool(self.roles & set(MANAGERS))

    @property
    def sees_everything(self) -> bool:
        return self.manages

    def sees_subscription(self, sub: Subscription) -> bool:
        if self.sees_everything:
            return True
        return (sub.practice_id is not None and sub.practice_id in self.practices) or (
            sub.hospitalist_group is not None and sub.hospitalist_group in self.hospitalist_groups)

    def sees_member(self, a: Audience) -> bool:
        if self.sees_everything:
            return True
        return (a.practice_id in self.practices) or (a.hospitalist_group in self.hospitalist_groups) or (
            a.pod in self.pods)

    @property
    def has_scope(self) -> bool:
        return self.sees_everything or bool(self.practices or self.hospitalist_groups or self.pods)
