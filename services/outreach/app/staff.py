"""The staff directory: ``shared.auth`` users → the domain's ``StaffMember``.

Front-line roles map to queue roles (``nurse`` → ``quality_nurse``; ``care_navigator``,
``social_worker``, ``dietician`` keep their names); ``admin``, ``supervisor`` and ``ops`` decide
the access level (the highest wins). Users with none of these roles (e.g. hospitalists) have no
access to outreach.
"""

from __future__ import annotations

from collections import defaultdict

from shared.users import User, UserDirectory

from ..domain import StaffMember

QUEUE_ROLE_OF = {
    "nurse": "quality_nurse",
    "care_navigator": "care_navigator",
    "social_worker": "social_worker",
    "dietician": "dietician",
}


def staff_member(user: User) -> StaffMember | None:
    """The user as outreach staff, or None when she has no outreach role."""
    roles = frozenset(QUEUE_ROLE_OF[r] for r in user.roles if r in QUEUE_ROLE_OF)
    if user.has("admin"):
        access = "admin"
    elif user.has("supervisor"):
        access = "supervisor"
    elif user.has("ops"):
        access = "ops"
    elif roles:
        access = "nurse"
    else:
        return None
    return StaffMember(user_id=user.id, access=access, roles=roles, pods=frozenset(user.pods),
                       capacity=user.capacity, active=True, display_name=user.name)


class Staff:
    """Everyone in the users file who works in outreach, indexed by queue."""

    def __init__(self, directory: UserDirectory) -> None:
        self.directory = directory
        self.members: dict[str, StaffMember] = {}
        self._by_queue: dict[tuple[str, str], list[StaffMember]] = defaultdict(list)
        for user in directory.users.values():
            member = staff_member(user)
            if member is None:
                continue
            self.members[member.user_id] = member
            for role in member.roles:
                for pod in member.pods:
                    if member.works(role, pod):
                        self._by_queue[(role, pod)].append(member)

    def of(self, user: User) -> StaffMember | None:
        return self.members.get(user.id)

    def get(self, user_id: str) -> StaffMember | None:
        return self.members.get(user_id)

    def for_queue(self, role: str, pod: str) -> list[StaffMember]:
        return self._by_queue.get((role, pod), [])

    def front_line_ids(self) -> list[str]:
        return sorted(m.user_id for m in self.members.values() if m.access == "nurse")

    def display_name(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        member = self.members.get(user_id)
        return member.display_name if member and member.display_name else user_id
