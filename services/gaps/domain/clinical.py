"""From the platform's events to the engine's history.

``history_from_claims``: current claim versions → service events, diagnoses and discharges.
``discharge_from_transition`` / ``TransitionBook``: ADT care transitions (and their cancels)
→ discharges. Both are pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .codesets import PROC, CodeSets
from .history import ClinicalHistory, DiagnosisEvent, Discharge, ServiceEvent

_INPATIENT_POS = {"21", "51"}


def _claim_setting(claim: Any, codes: CodeSets) -> str | None:
    """``inpatient`` / ``ed`` when the claim (any of its lines) says so, else None."""
    tob = claim.type_of_bill
    if tob and "inpatient_ed_setting" in codes.tags("TOB", tob):
        return "inpatient"
    if claim.place_of_service in _INPATIENT_POS:
        return "inpatient"
    for line in claim.lines:
        proc = line.procedure_code
        if proc and "ed_visit" in codes.tags(PROC, proc.strip().upper()):
            return "ed"
        for ns, code in (("REV", line.revenue_code), ("POS", line.place_of_service or claim.place_of_service)):
            if code and "inpatient_ed_setting" in codes.tags(ns, code):
                return "inpatient" if code in _INPATIENT_POS else "ed"
    return None


def history_from_claims(claims: Iterable[Any], codes: CodeSets) -> ClinicalHistory:
    """Services, diagnoses and claim discharges from current ``ClaimV1`` versions."""
    services: list[ServiceEvent] = []
    diagnoses: list[DiagnosisEvent] = []
    discharges: list[Discharge] = []
    for c in claims:
        setting = _claim_setting(c, codes)
        first: date | None = c.statement_from
        for line in c.lines:
            code = (line.procedure_code or "").strip().upper()
            if first is None or line.service_date < first:
                first = line.service_date
            if not code or (line.revenue_code and code == line.revenue_code):
                # A line billed by revenue code only (older events repeated the revenue code
                # as the procedure code): the revenue code is the service.
                if not line.revenue_code:
                    continue
                code, code_system = line.revenue_code.strip(), "REV"
            else:
                code_system = "HCPCS" if code[:1].isalpha() else "CPT"
            mods = line.modifiers
            # Positional (code, date, code_system, claim_id, place_of_service, claim_type,
            # revenue_code, type_of_bill, modifiers, value, setting): one per line per evaluation.
            services.append(ServiceEvent(
                code, line.service_date, code_system, c.claim_id, line.place_of_service or c.place_of_service,
                c.claim_type, line.revenue_code, c.type_of_bill, tuple([m.upper() for m in mods]) if mods else (),
                None, setting,
            ))
        dx_date = first or c.discharge_date or c.admission_date
        if dx_date is not None:
            for dx in c.diagnoses:
                diagnoses.append(DiagnosisEvent(dx.replace(".", "").upper(), dx_date, c.claim_id))
        if c.claim_type == "institutional" and c.discharge_date and c.discharge_status != "30":
            tob = c.type_of_bill or ""
            discharges.append(Discharge(
                discharge_id=c.claim_id, discharge_date=c.discharge_date, source="claim",
                admit_date=c.admission_date, disposition=c.discharge_status,
                acute="acute_inpatient_bill" in codes.tags("TOB", tob) if tob else False,
            ))
    return ClinicalHistory(tuple(services), tuple(diagnoses), tuple(discharges))


def discharge_from_transition(t: Any) -> Discharge:
    """A discharge from a ``CareTransitionV1`` (date in the discharge time's own offset)."""
    pclass = (t.patient_class or "I").upper()
    return Discharge(
        discharge_id=str(t.transition_id),
        discharge_date=t.discharge_time.date(),
        source="adt",
        admit_date=t.admit_time.date() if t.admit_time else None,
        disposition=t.discharge_disposition,
        acute=pclass == "I",
        facility=t.facility,
    )


@dataclass(frozen=True)
class TransitionBook:
    """A member's care transitions and cancels; a cancel that arrives first still wins."""

    transitions: tuple[Any, ...] = ()
    cancelled: frozenset[str] = frozenset()

    def apply(self, event: Any) -> "TransitionBook":
        et = getattr(event, "event_type", "")
        tid = str(event.transition_id)
        if et == "care.transition_cancelled":
            return TransitionBook(self.transitions, self.cancelled | {tid})
        # A re-sent transition (same id) replaces the older one: the later occurred_at wins.
        key = lambda t: (t.occurred_at, str(t.event_id))  # noqa: E731
        kept = []
        for t in self.transitions:
            if str(t.transition_id) == tid:
                if key(t) >= key(event):
                    return self
                continue
            kept.append(t)
        return TransitionBook(tuple(sorted(kept + [event], key=lambda t: str(t.transition_id))), self.cancelled)

    def discharges(self) -> tuple[Discharge, ...]:
        return tuple(discharge_from_transition(t) for t in self.transitions
                     if str(t.transition_id) not in self.cancelled)

    def history(self) -> ClinicalHistory:
        return ClinicalHistory(discharges=self.discharges())
