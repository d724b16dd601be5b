"""What the risk service keeps of a member and of the member's encounters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.events import MemberRosterV1


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    birth_date: date
    sex: str
    practice_id: str
    contract_id: str
    roster_tier: str
    status: str = "active"
    pod: str | None = None
    eligibility: tuple[tuple[date, date | None], ...] = ()
    # (start, end, practice_id): where the member was attributed, oldest first; empty = practice_id always
    practices: tuple[tuple[date, date | None, str], ...] = ()
    roster_at: datetime | None = None

    @classmethod
    def from_roster(cls, r: MemberRosterV1) -> "Member":
        return cls(
            member_id=r.member_id, birth_date=r.birth_date, sex=r.sex, practice_id=r.pcp_practice_id,
            contract_id=r.contract_id, roster_tier=r.risk_tier, status=r.status, pod=r.pod,
            eligibility=tuple((s.start, s.end) for s in r.eligibility),
            practices=tuple((a.start, a.end, a.pcp_practice_id) for a in r.attribution),
            roster_at=r.occurred_at,
        )

    def eligible_on(self, day: date) -> bool:
        return any(start <= day and (end is None or day <= end) for start, end in self.eligibility)

    def attributed_on(self, day: date) -> bool:
        """Eligible that day; a roster without eligibility spans means "active now"."""
        return self.eligible_on(day) if self.eligibility else self.status == "active"

    def practice_on(self, day: date) -> str:
        found = None
        for start, end, practice in self.practices:
            if start <= day and (end is None or day <= end):
                found = practice
        return found or self.practice_id


@dataclass(frozen=True, slots=True)
class AdtEncounter:
    """An ED visit or inpatient stay the admissions service reported (alert or discharge)."""

    member_id: str
    encounter_key: str
    kind: str                # "ed" | "inpatient"
    arrival: datetime        # tz-aware
    local_day: date          # the arrival's date at the hospital's own offset
    primary_dx: str | None
    retracted: bool = False


@dataclass(frozen=True, slots=True)
class Readmission:
    member_id: str
    readmission_id: str
    admit_day: date
    retracted: bool = False
