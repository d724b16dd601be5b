"""Whose member data a user may see: everything (admin), the members of some hospitalist groups
(hospitalists), or of some nurse pods (supervisors and pod staff). The repositories turn a
``Scope`` into their filter (``adapters/repositories.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.users import User

POD_ROLES = ("supervisor", "nurse", "care_navigator", "social_worker", "dietician")


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    groups: frozenset[str] = frozenset()
    pods: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.everything or self.groups or self.pods)

    def allows(self, group: str | None, pod: str | None) -> bool:
        return self.everything or (group is not None and group in self.groups) or (pod is not None and pod in self.pods)


def scope_of(user: User) -> Scope:
    if user.has("admin"):
        return Scope(everything=True)
    groups = user.hospitalist_groups if user.has("hospitalist") else frozenset()
    pods = user.pods if user.has(*POD_ROLES) else frozenset()
    return Scope(groups=frozenset(groups), pods=frozenset(pods))
