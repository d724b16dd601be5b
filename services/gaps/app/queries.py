"""The API's reads: a member's gaps (who may read them, every read audited) and measure rates by
practice / contract.

Who may read a member's gaps: admins; nurses, care navigators, social workers, dieticians and
supervisors for members of their pods. Another pod's member reads as unknown (the refusal is
audited as a denial).

Rates follow the eCQM populations: denominator = members (FUP: discharges) in the eligible
population (open, closed, due soon or excluded), exclusions = excluded, numerator = closed or
due soon - except CMS122, an inverse measure (lower is better), whose numerator is poor
control: its open gaps. rate = numerator / (denominator - exclusions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.users import User

from ..domain import MEASURES, Period
from .ports import GapView, MemberView, UnitOfWork, UnitOfWorkFactory

MEMBER_READERS = ("admin", "supervisor", "nurse", "care_navigator", "social_worker", "dietician")
RATE_READERS = ("admin", "supervisor", "ops")
INVERSE = frozenset({"CMS122"})
IN_DENOMINATOR = ("open", "closed", "due_soon", "excluded")
_ORDER = {m: i for i, m in enumerate(MEASURES)}


def can_read_member(user: User, pod: str | None) -> bool:
    if user.has("admin"):
        return True
    return user.has(*MEMBER_READERS) and pod is not None and pod in user.pods


@dataclass
class RateRow:
    measure_id: str
    practice_id: str | None
    contract_id: str | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def inverse(self) -> bool:
        return self.measure_id in INVERSE

    def figures(self) -> dict[str, Any]:
        c = self.counts
        denominator = sum(c.get(s, 0) for s in IN_DENOMINATOR)
        exclusions = c.get("excluded", 0)
        met = c.get("closed", 0) + c.get("due_soon", 0)
        numerator = c.get("open", 0) if self.inverse else met
        eligible = denominator - exclusions
        return {
            "measure_id": self.measure_id, "practice_id": self.practice_id, "contract_id": self.contract_id,
            "denominator": denominator, "exclusions": exclusions, "numerator": numerator,
            "rate": round(numerator / eligible, 4) if eligible else None, "inverse": self.inverse,
            "open_gaps": c.get("open", 0), "closed_gaps": met, "due_soon": c.get("due_soon", 0),
            "not_applicable": c.get("not_applicable", 0),
        }


class GapQueries:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    def member_gaps(self, user: User, member_id: str, period: Period, *, endpoint: str, detail: str
                    ) -> tuple[MemberView, list[GapView]] | None:
        """The member and their gaps of the period in measure order, the read audited with
        ``detail``; None when the member is unknown or not the user's to read."""
        with self.uow() as uow:
            member = self._readable(uow, user, member_id, endpoint)
            gaps: list[GapView] = []
            if member is not None:
                gaps = sorted(uow.reads.member_gaps(member_id, period.start),
                              key=lambda g: (_ORDER.get(g.measure_id, 99), g.instance_id or ""))
                uow.audit.record(user_id=user.id, role=user.primary_role, member_ids=[member_id], action="read",
                                 endpoint=endpoint, detail=detail)
            uow.commit()
        return (member, gaps) if member is not None else None

    @staticmethod
    def _readable(uow: UnitOfWork, user: User, member_id: str, endpoint: str) -> MemberView | None:
        member = uow.reads.member(member_id)
        if member is None or not can_read_member(user, member.pod):
            if member is not None:
                uow.audit.record(user_id=user.id, role=user.primary_role, member_ids=[member_id], action="read",
                                 endpoint=endpoint, detail="denied: outside the user's pods")
            return None
        return member

    def rates(self, period: Period, *, by_practice: bool, by_contract: bool, measure_id: str | None = None,
              practice_id: str | None = None, contract_id: str | None = None) -> list[dict]:
        with self.uow() as uow:
            counts = uow.reads.rate_counts(period.start, by_practice=by_practice, by_contract=by_contract,
                                           measure_id=measure_id, practice_id=practice_id, contract_id=contract_id)
        out: dict[tuple, RateRow] = {}
        for m, p, k, status, n in counts:
            rr = out.setdefault((m, p or "", k or ""), RateRow(m, p, k))
            rr.counts[status] = rr.counts.get(status, 0) + n
        return [out[key].figures() for key in sorted(out, key=lambda t: (_ORDER.get(t[0], 99), t[1], t[2]))]
