"""The admissions rules' parameters. Contract terms are configuration, not code: the wiring
step builds one ``AdmissionRules`` from settings (defaults follow the public rules cited)."""

from __future__ import annotations

from dataclasses import dataclass, field

# UB-04 patient discharge status codes used by the rules
EXPIRED = frozenset({"20", "40", "41", "42"})  # died (20), expired in hospice settings (40-42)
LEFT_AMA = "07"
STILL_PATIENT = "30"
TO_ACUTE_HOSPITAL = "02"


@dataclass(frozen=True)
class AdmissionRules:
    # PV1-2 patient classes (HL7 table 0004)
    inpatient_classes: frozenset[str] = frozenset({"I"})
    ed_classes: frozenset[str] = frozenset({"E"})
    # discharges that emit a care transition; of those, the ones the TCM clock applies to
    transition_classes: frozenset[str] = frozenset({"I", "E"})
    tcm_classes: frozenset[str] = frozenset({"I"})
    # TCM: interactive contact within N business days, face-to-face within 7 (99496) / 14 (99495) days
    tcm_contact_business_days: int = 2
    tcm_visit_high_days: int = 7
    tcm_visit_moderate_days: int = 14
    # no follow-up owed: died, still a patient, sent to another acute hospital
    no_tcm_dispositions: frozenset[str] = field(default_factory=lambda: EXPIRED | {STILL_PATIENT, TO_ACUTE_HOSPITAL})
    # readmissions: admit_date - index discharge_date <= window; a new inpatient stay that
    # starts within ``transfer_gap_days`` of the previous discharge continues the same stay
    readmission_window_days: int = 30
    transfer_gap_days: int = 1
    non_index_dispositions: frozenset[str] = field(default_factory=lambda: EXPIRED | {LEFT_AMA})
    # prior utilisation counted on alerts
    lookback_days: tuple[int, int] = (30, 90)


DEFAULT_RULES = AdmissionRules()
