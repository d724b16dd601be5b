"""Who may read a member's risk view: a care-team user with her own API key, or a platform
service reading on behalf of one (the outreach API for the nurse's task page).

A service account (``VIEW_SERVICES``; no role of its own, so it reads nothing by itself) must
name the person in ``X-On-Behalf-Of``: a known user with a care-team role. The service has
already checked that person's rights to the member (outreach: the task's pod); the read is
audited under the person, with the service in the audit detail. Anyone else answers 401/403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

from shared.users import User, UserDirectory

CARE_ROLES = ("nurse", "care_navigator", "social_worker", "dietician", "supervisor", "admin", "hospitalist")
ON_BEHALF_OF = "X-On-Behalf-Of"


@dataclass(frozen=True)
class Reader:
    user: User              # the person who reads (audited as the reader)
    via: str | None = None  # the service account that relayed the read

    def audit_detail(self, what: str) -> str:
        return f"{what} (via {self.via})" if self.via else what


def risk_reader(directory: UserDirectory, current_user: Callable[[Request], User],
                services: frozenset[str]) -> Callable[[Request], Reader]:
    def reader(request: Request) -> Reader:
        caller = current_user(request)  # 401 without a valid key
        if caller.id in services:
            named = (request.headers.get(ON_BEHALF_OF) or "").strip()[:64]
            person = directory.get(named) if named else None
            if person is None or not person.has(*CARE_ROLES):
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"a service reads a risk view on behalf of a "
                                                               f"care-team user named in {ON_BEHALF_OF}")
            return Reader(person, caller.id)
        if not caller.has(*CARE_ROLES):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(CARE_ROLES)}")
        return Reader(caller)

    return reader
