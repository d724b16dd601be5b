"""What the measure engine reads: a member and their clinical history.

Plain frozen dataclasses (no validation cost per event): the wiring builds them from the
current claim versions (``clinical.history_from_claims``) and from care transitions
(``clinical.discharge_from_transition``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Setting = Literal["inpatient", "ed", "outpatient"]


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """A procedure, visit, lab or CPT II result on a date.

    ``code_system``: CPT, HCPCS (one namespace for matching), LOINC. ``value`` is a numeric
    result as text when the source has one (an HbA1c of ``9.4``, a systolic of ``132``).
    ``setting`` is ``inpatient`` / ``ed`` when the claim says so; place of service, revenue
    code and type of bill are also checked against the code lists.
    """

    code: str
    date: date
    code_system: str = "CPT"
    claim_id: str | None = None
    place_of_service: str | None = None
    claim_type: str | None = None
    revenue_code: str | None = None
    type_of_bill: str | None = None
    modifiers: tuple[str, ...] = ()
    value: str | None = None
    setting: Setting | None = None


@dataclass(frozen=True, slots=True)
class DiagnosisEvent:
    """An ICD-10-CM code (no dot) recorded on a date (a claim's service date or a visit)."""

    code: str
    date: date
    claim_id: str | None = None
    source: str = "claim"


@dataclass(frozen=True, slots=True)
class Discharge:
    """An inpatient discharge from an ADT care transition or an institutional claim.

    ``discharge_id`` names the transition (its id) or the claim (its claim id).
    ``disposition`` is the UB-04 patient status (``01`` home, ``06`` home health,
    ``20`` expired...). ``acute`` says it was an acute inpatient stay.
    """

    discharge_id: str
    discharge_date: date
    source: Literal["adt", "claim"] = "adt"
    admit_date: date | None = None
    disposition: str | None = None
    acute: bool = True
    facility: str | None = None


@dataclass(frozen=True, slots=True)
class ClinicalHistory:
    services: tuple[ServiceEvent, ...] = ()
    diagnoses: tuple[DiagnosisEvent, ...] = ()
    discharges: tuple[Discharge, ...] = ()

    def merged(self, other: "ClinicalHistory") -> "ClinicalHistory":
        return ClinicalHistory(
            self.services + other.services,
            self.diagnoses + other.diagnoses,
            self.discharges + other.discharges,
        )


@dataclass(frozen=True, slots=True)
class Member:
    """Demographics and current attribution (the latest roster snapshot)."""

    member_id: str
    birth_date: date
    sex: Literal["F", "M", "U"]
    practice_id: str = ""
    contract_id: str = ""
    status: Literal["active", "termed"] = "active"
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_roster(cls, roster) -> "Member":  # shared.events.MemberRosterV1 (or its fields)
        get = roster.get if isinstance(roster, dict) else (lambda k, d=None: getattr(roster, k, d))
        return cls(
            member_id=get("member_id"),
            birth_date=get("birth_date"),
            sex=get("sex"),
            practice_id=get("pcp_practice_id") or "",
            contract_id=get("contract_id") or "",
            status=get("status", "active") or "active",
        )
