"""Discharges → transitions of care with the TCM clock.

TCM (CPT 99495/99496): interactive contact within 2 business days after the discharge day
(weekends and the calendar's holidays skipped), face-to-face within 7 days (high complexity)
or 14 days (moderate). No follow-up is owed when the patient died, is still a patient, was
sent on to another acute hospital, or the class is not one TCM covers. A discharge followed
by a same/next-day inpatient admission elsewhere is a transfer: not an index stay, no TCM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.calendar import BusinessCalendar

from .encounters import Encounter
from .readmissions import Readmission, Stay
from .rules import DEFAULT_RULES, AdmissionRules


@dataclass(frozen=True)
class TcmClock:
    contact_due: date
    visit_due_high: date
    visit_due_moderate: date


def tcm_clock(discharge_day: date, calendar: BusinessCalendar, rules: AdmissionRules = DEFAULT_RULES) -> TcmClock:
    return TcmClock(
        contact_due=calendar.add_business_days(discharge_day, rules.tcm_contact_business_days),
        visit_due_high=discharge_day + timedelta(days=rules.tcm_visit_high_days),
        visit_due_moderate=discharge_day + timedelta(days=rules.tcm_visit_moderate_days),
    )


def transition_terms(
    enc: Encounter, stays: list[Stay], readmits: list[Readmission], calendar: BusinessCalendar,
    rules: AdmissionRules = DEFAULT_RULES,
) -> dict[str, Any]:
    """The ``CareTransitionV1`` fields that come from the encounter (not roster, not envelope)."""
    assert enc.discharge_time is not None
    stay = next((s for s in stays if any(e.key == enc.key for e in s.encounters)), None)
    last_of_stay = stay is None or stay.last.key == enc.key
    readmission = stay is not None and any(r.readmit is stay for r in readmits)
    index_stay = stay is not None and last_of_stay and stay.is_index(rules)
    tcm = (enc.patient_class in rules.tcm_classes and enc.disposition not in rules.no_tcm_dispositions
           and last_of_stay)
    day = enc.discharge_time.date()
    clock = tcm_clock(day, calendar, rules) if tcm else None
    return dict(
        encounter_key=enc.key,
        facility=enc.facility,
        patient_class=enc.patient_class,
        admit_time=enc.start_time(),
        discharge_time=enc.discharge_time,
        discharge_disposition=enc.disposition,
        length_of_stay_days=enc.length_of_stay(),
        diagnoses=enc.diagnoses,
        tcm_applicable=tcm,
        contact_due=clock.contact_due if clock else None,
        visit_due_high=clock.visit_due_high if clock else None,
        visit_due_moderate=clock.visit_due_moderate if clock else None,
        readmission=readmission,
        index_stay=index_stay,
    )
