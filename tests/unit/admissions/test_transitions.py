"""The TCM clock on a care transition."""

from __future__ import annotations

from datetime import date

import pytest

from shared.calendar import BusinessCalendar

from services.admissions.domain.rules import AdmissionRules
from services.admissions.domain.transitions import tcm_clock


@pytest.mark.parametrize("discharge,contact", [
    (date(2026, 3, 6), date(2026, 3, 10)),   # Friday -> Tuesday
    (date(2026, 3, 2), date(2026, 3, 4)),    # Monday -> Wednesday
    (date(2026, 7, 2), date(2026, 7, 7)),    # Thursday before the observed July 4th holiday
    (date(2026, 3, 7), date(2026, 3, 10)),   # Saturday -> Tuesday
])
def test_contact_due_two_business_days_after_discharge(discharge, contact):
    clock = tcm_clock(discharge, BusinessCalendar())
    assert clock.contact_due == contact
    assert (clock.visit_due_high - discharge).days == 7 and (clock.visit_due_moderate - discharge).days == 14


def test_deployment_holidays_and_contract_terms_are_configuration():
    cal = BusinessCalendar(extra=[date(2026, 3, 9)])
    rules = AdmissionRules(tcm_contact_business_days=1, tcm_visit_high_days=5)
    clock = tcm_clock(date(2026, 3, 6), cal, rules)
    assert clock.contact_due == date(2026, 3, 10) and clock.visit_due_high == date(2026, 3, 11)
