"""What the risk service keeps of a claim version, and which version of a claim counts.

A claim version is reduced to its facts: the diagnoses (if the claim is a risk-adjustment
eligible encounter), the ED visit it records (if any), the inpatient stay it bills (if any), and
what says where it stands among the claim's versions: the claim it corrects
(``original_claim_id``) and when it was made (version sequence, adjudication, received and
submitted dates). Which versions count is the platform's one rule, ``shared.claim_versions``
(the gaps and billing services use the same): claim ids linked by corrections form a family;
a family whose original has not arrived is held (a replacement waits for the claim it replaces,
a void without its original voids nothing); otherwise its highest-ranked version counts (place in
the correction chain, frequency, the version's own stamps, claim id, event id), unless that is a
void. The answer depends on the set of versions, never on arrival order or load time.

Facts stored before the rule (no ``orig``, no stamps) read as the v1 upcaster reads a v1 claim:
stamps unknown; the claim a correction named is its stored ``family`` where that differs from
its own id (what ``family`` meant then), else none.

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

from shared.claim_versions import CORRECTIONS
from shared.claim_versions import current_versions as _counted
from shared.events import ClaimV1

INPATIENT_BILL_TYPES = ("11", "41")
OUTPATIENT_BILL_TYPES = ("12", "13", "43", "71", "73", "76", "77", "85", "87")
ED_EM_CODES = frozenset({"99281", "99282", "99283", "99284", "99285"})
ED_PLACE_OF_SERVICE = "23"


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    member_id: str
    event_id: str
    claim_id: str
    occurred_at: datetime                # the event's time: never decides which version counts
    frequency_code: str                  # 1 original, 7 replacement, 8 void
    service_from: date | None
    service_to: date | None
    diagnoses: tuple[str, ...]           # all codes, principal first
    ra_eligible: bool                    # its diagnoses count for the risk score
    ed_day: date | None = None           # the ED visit's date, when the claim records one
    inpatient_admit: date | None = None  # an inpatient stay (bill type 11x): admission date
    inpatient_discharge: date | None = None
    original_claim_id: str | None = None  # the claim a correction (7/8) names (X12 REF*F8)
    # what the version says about when it was made (``shared.claim_versions.stamp``; None: unknown)
    version_sequence: int | None = None
    adjudication_date: date | None = None
    received_date: date | None = None
    submitted_at: datetime | None = None

    @property
    def is_void(self) -> bool:
        return self.frequency_code == "8"

    def to_dict(self) -> dict:
        d = {
            # ``family``: what the release before the one rule read (the claim a correction names, else
            # its own id); still written so a process of that release reads what this one stores
            "family": self.original_claim_id if self.frequency_code in CORRECTIONS and self.original_claim_id
            else self.claim_id,
            "claim_id": self.claim_id, "frequency": self.frequency_code,
            "from": self.service_from.isoformat() if self.service_from else None,
            "to": self.service_to.isoformat() if self.service_to else None,
            "dx": list(self.diagnoses), "ra": self.ra_eligible,
            "ed": self.ed_day.isoformat() if self.ed_day else None,
            "ip": [self.inpatient_admit.isoformat(), self.inpatient_discharge.isoformat()
                   if self.inpatient_discharge else None] if self.inpatient_admit else None,
        }
        if self.original_claim_id is not None:
            d["orig"] = self.original_claim_id
        if (self.version_sequence is not None or self.adjudication_date or self.received_date
                or self.submitted_at):
            d["v"] = [self.version_sequence, _iso(self.adjudication_date), _iso(self.received_date),
                      self.submitted_at.isoformat() if self.submitted_at else None]
        return d

    @classmethod
    def from_dict(cls, member_id: str, event_id: str, occurred_at: datetime, d: dict) -> "ClaimFacts":
        ip = d.get("ip")
        claim_id = d["claim_id"]
        if "orig" in d:
            original = d["orig"]
        else:   # stored before the one rule: ``family`` was the claim a correction named, else its own id
            family = d.get("family")
            original = family if family and family != claim_id else None
        v = d.get("v")
        return cls(
            member_id=member_id, event_id=event_id, claim_id=claim_id,
            occurred_at=occurred_at, frequency_code=d["frequency"],
            service_from=_day(d.get("from")), service_to=_day(d.get("to")),
            diagnoses=tuple(d.get("dx") or ()), ra_eligible=bool(d.get("ra")), ed_day=_day(d.get("ed")),
            inpatient_admit=_day(ip[0]) if ip else None, inpatient_discharge=_day(ip[1]) if ip else None,
            original_claim_id=original,
            version_sequence=v[0] if v else None, adjudication_date=_day(v[1]) if v else None,
            received_date=_day(v[2]) if v else None,
            submitted_at=datetime.fromisoformat(v[3]) if v and v[3] else None,
        )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


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
        member_id=claim.member_id, event_id=str(claim.event_id), claim_id=claim.claim_id,
        occurred_at=claim.occurred_at, frequency_code=claim.frequency_code,
        service_from=claim.statement_from or (min(dates) if dates else None),
        service_to=claim.statement_to or (max(ends) if ends else None),
        diagnoses=tuple(d.replace(".", "").upper() for d in claim.diagnoses),
        ra_eligible=ra_eligible(claim, eligible_codes),
        ed_day=ed_day(claim),
        inpatient_admit=admit,
        inpatient_discharge=(claim.discharge_date or claim.statement_to) if inpatient else None,
        original_claim_id=claim.original_claim_id,
        # a v1 claim (no stamps) reads as the v1 -> v2 upcaster lifts it: unknown
        version_sequence=getattr(claim, "version_sequence", None),
        adjudication_date=getattr(claim, "adjudication_date", None),
        received_date=getattr(claim, "received_date", None),
        submitted_at=getattr(claim, "submitted_at", None),
    )


def current_versions(versions: Iterable[ClaimFacts]) -> list[ClaimFacts]:
    """The version of each claim family that counts now (``shared.claim_versions``: voided and held
    families drop out), by date of service then claim id.

    Most members' claims are originals only, each under its own claim id: each is a family of its
    own that counts as it is (what the rule answers), decided here without building the families
    (a full re-score asks for every member: ~4 versions each)."""
    if not isinstance(versions, list):
        versions = list(versions)
    if all(v.frequency_code == "1" for v in versions) and len({v.claim_id for v in versions}) == len(versions):
        counted: Iterable[ClaimFacts] = versions
    else:
        counted = _counted(versions).values()
    return sorted(counted, key=_by_service)


def _by_service(v: ClaimFacts) -> tuple:
    return (v.service_from or date.min, v.claim_id)
