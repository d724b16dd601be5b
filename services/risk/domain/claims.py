"""What the risk service keeps of a claim version, and which version of a claim counts.

A claim version is reduced to its facts: the diagnoses (if the claim is a risk-adjustment
eligible encounter), the ED visit it records (if any) and the inpatient stay it bills (if any).
A claim family (an original and its replacements/voids) counts through its current version:
the latest by (event time, frequency code, claim id, event id) — the same order the gaps and
billing services use; a void as the current version removes the family.

Risk-adjustment eligibility follows CMS's encounter-data filtering: a professional claim counts
when one of its lines carries a CPT/HCPCS code on the payment year's eligible list; an
institutional claim counts for inpatient bill types 11x and 41x, and for outpatient types 12x,
13x, 43x, 71x, 73x, 76x, 77x, 85x, 87x when one of its lines carries an eligible code.

An ED visit on a claim: a line with revenue code 045x (emergency room), place of service 23
(on the claim or a line), or CPT 99281-99285 (ED evaluation and management).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shared.events import ClaimV1

INPATIENT_BILL_TYPES = ("11", "41")
OUTPATIENT_BILL_TYPES = ("12", "13", "43", "71", "73", "76", "77", "85", "87")
ED_EM_CODES = frozenset({"99281", "99282", "99283", "99284", "99285"})
ED_PLACE_OF_SERVICE = "23"


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    member_id: str
    event_id: str
    family: str
    claim_id: str
    occurred_at: datetime
    frequency: str
    service_from: date | None
    service_to: date | None
    diagnoses: tuple[str, ...]           # all codes, principal first
    ra_eligible: bool                    # its diagnoses count for the risk score
    ed_day: date | None = None           # the ED visit's date, when the claim records one
    inpatient_admit: date | None = None  # an inpatient stay (bill type 11x): admission date
    inpatient_discharge: date | None = None

    @property
    def order(self) -> tuple:
        return (self.occurred_at, self.frequency, self.claim_id, self.event_id)

    @property
    def is_void(self) -> bool:
        return self.frequency == "8"

    def to_dict(self) -> dict:
        return {
            "family": self.family, "claim_id": self.claim_id, "frequency": self.frequency,
            "from": self.service_from.isoformat() if self.service_from else None,
            "to": self.service_to.isoformat() if self.service_to else None,
            "dx": list(self.diagnoses), "ra": self.ra_eligible,
            "ed": self.ed_day.isoformat() if self.ed_day else None,
            "ip": [self.inpatient_admit.isoformat(), self.inpatient_discharge.isoformat()
                   if self.inpatient_discharge else None] if self.inpatient_admit else None,
        }

    @classmethod
    def from_dict(cls, member_id: str, event_id: str, occurred_at: datetime, d: dict) -> "ClaimFacts":
        ip = d.get("ip")
        return cls(
            member_id=member_id, event_id=event_id, family=d["family"], claim_id=d["claim_id"],
            occurred_at=occurred_at, frequency=d["frequency"],
            service_from=_day(d.get("from")), service_to=_day(d.get("to")),
            diagnoses=tuple(d.get("dx") or ()), ra_eligible=bool(d.get("ra")), ed_day=_day(d.get("ed")),
            inpatient_admit=_day(ip[0]) if ip else None, inpatient_discharge=_day(ip[1]) if ip else None,
        )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def family_of(claim: ClaimV1) -> str:
    if claim.frequency_code in ("7", "8") and claim.original_claim_id:
        return claim.original_claim_id
    return claim.claim_id


def _bill_class(claim: ClaimV1) -> str | None:
    tob = (claim.type_of_bill or "").lstrip("0")
    return tob[:2] if len(tob) >= 2 else None


def ra_eligible(claim: ClaimV1, eligible_codes: frozenset[str]) -> bool:
    has_code = any(line.procedure_code in eligible_codes for line in claim.lines if line.procedure_code)
    if claim.claim_type == "professional":
        return has_code
    bill = _bill_class(claim)
    if bill in INPATIENT_BILL_TYPES:
        return True
    return bill in OUTPATIENT_BILL_TYPES and has_code


def ed_day(claim: ClaimV1) -> date | None:
    days = [line.service_date for line in claim.lines
            if (line.revenue_code or "").startswith("045")
            or (line.procedure_code or "") in ED_EM_CODES
            or (line.place_of_service or claim.place_of_service) == ED_PLACE_OF_SERVICE]
    return min(days) if days else None


def facts_of(claim: ClaimV1, eligible_codes: frozenset[str]) -> ClaimFacts:
    dates = [line.service_date for line in claim.lines]
    ends = [line.service_date_end or line.service_date for line in claim.lines]
    inpatient = claim.claim_type == "institutional" and _bill_class(claim) == "11"
    admit = (claim.admission_date or claim.statement_from or (min(dates) if dates else None)) if inpatient else None
    return ClaimFacts(
        member_id=claim.member_id, event_id=str(claim.event_id), family=family_of(claim), claim_id=claim.claim_id,
        occurred_at=claim.occurred_at, frequency=claim.frequency_code,
        service_from=claim.statement_from or (min(dates) if dates else None),
        service_to=claim.statement_to or (max(ends) if ends else None),
        diagnoses=tuple(d.replace(".", "").upper() for d in claim.diagnoses),
        ra_eligible=ra_eligible(claim, eligible_codes),
        ed_day=ed_day(claim),
        inpatient_admit=admit,
        inpatient_discharge=(claim.discharge_date or claim.statement_to) if inpatient else None,
    )


def current_versions(versions: Iterable[ClaimFacts]) -> list[ClaimFacts]:
    """The version of each claim family that counts now (voided families drop out)."""
    best: dict[str, ClaimFacts] = {}
    for v in versions:
        cur = best.get(v.family)
        if cur is None or v.order > cur.order:
            best[v.family] = v
    return sorted((v for v in best.values() if not v.is_void), key=lambda v: (v.service_from or date.min, v.claim_id))
