"""Encounters are rebuilt in event-time order, whatever the arrival order."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from services.admissions.domain.census import census_by_facility, census_by_practice, census_entries
from services.admissions.domain.encounters import build_encounters

from .builders import TZ, adt, ts

ADMIT = adt("A01", ts(2), admit=ts(2), control_id="E1")
TRANSFER = adt("A02", ts(3), location="ICU^2^B^MERCY", control_id="E2")
UPDATE = adt("A08", ts(3, 12), diagnoses=("J18.9^Pneumonia^I10", "I10^Hypertension^I10"), control_id="E3")
DISCHARGE = adt("A03", ts(6), discharge=ts(6), disposition="01", location="ICU^2^B^MERCY", diagnoses=(), control_id="E4")
ED = adt("A04", ts(20), visit="V2", patient_class="E", location="ED^1^^MERCY", control_id="E5")
OTHER_ADMIT = adt("A01", ts(25), visit="V3", admit=ts(25), facility="GENERAL", control_id="E6")
OTHER_CANCEL = adt("A11", ts(25, 13), visit="V3", facility="GENERAL", control_id="E7")
VISIT = [ADMIT, TRANSFER, UPDATE, DISCHARGE, ED, OTHER_ADMIT, OTHER_CANCEL]


def test_in_order_visit():
    enc = build_encounters(VISIT)
    stay = enc["MERCY|V88812"]
    assert stay.status == "discharged" and stay.disposition == "01"
    assert stay.admit_time == datetime(2026, 3, 2, 10, tzinfo=TZ)
    assert stay.discharge_time == datetime(2026, 3, 6, 10, tzinfo=TZ)
    assert stay.length_of_stay() == 4
    assert stay.location.point_of_care == "ICU"
    assert [d.code for d in stay.diagnoses] == ["J18.9", "I10"]
    assert stay.inpatient_cause == ADMIT.event_id and stay.discharge_cause == DISCHARGE.event_id
    assert enc["MERCY|V2"].status == "active" and enc["MERCY|V2"].ed_cause == ED.event_id
    assert enc["GENERAL|V3"].status == "cancelled" and enc["GENERAL|V3"].inpatient_cause is None


def test_a_late_a01_after_the_a03_gives_the_same_stay_and_census():
    on_time = build_encounters([ADMIT, DISCHARGE])
    late = build_encounters([DISCHARGE, ADMIT])
    assert late == on_time
    assert late["MERCY|V88812"].length_of_stay() == 4
    assert census_entries("M1", "P1", late.values()) == []


@settings(max_examples=150, deadline=None)
@given(st.permutations(VISIT))
def test_state_is_the_same_for_any_arrival_order(order):
    assert build_encounters(order) == build_encounters(VISIT)


def test_cancel_transfer_restores_the_previous_location():
    cancel = adt("A12", ts(3, 14), location="", control_id="E8")
    enc = build_encounters([ADMIT, TRANSFER, cancel])["MERCY|V88812"]
    assert enc.location.point_of_care == "4W"


def test_cancel_discharge_reopens_the_stay():
    enc = build_encounters([ADMIT, DISCHARGE, adt("A13", ts(6, 12), control_id="E9")])["MERCY|V88812"]
    assert enc.status == "active" and enc.discharge_time is None and enc.discharge_cause is None
    assert enc.length_of_stay(as_of=date(2026, 3, 10)) == 8


def test_class_changes_a06_and_a07():
    ed = adt("A04", ts(2), patient_class="E", control_id="C1")
    to_inpatient = adt("A06", ts(2, 15), patient_class="I", control_id="C2")
    enc = build_encounters([ed, to_inpatient])["MERCY|V88812"]
    assert enc.patient_class == "I" and enc.ed_cause == ed.event_id and enc.inpatient_cause == to_inpatient.event_id
    assert enc.inpatient_since == to_inpatient.occurred_at
    back = adt("A07", ts(3), patient_class="O", control_id="C3")
    enc = build_encounters([ed, to_inpatient, back])["MERCY|V88812"]
    assert enc.patient_class == "O" and census_entries("M1", "P1", [enc]) == []


def test_visit_without_number_is_keyed_by_facility_and_admit_date():
    a = adt("A01", ts(2), visit="", admit=ts(2), control_id="N1")
    d = adt("A03", ts(4), visit="", admit=ts(2), discharge=ts(4), control_id="N2")
    enc = build_encounters([a, d])
    assert list(enc) == ["MERCY|@20260302"] and enc["MERCY|@20260302"].status == "discharged"


def test_census_by_facility_and_practice():
    enc = build_encounters([ADMIT, OTHER_ADMIT, ED])
    entries = census_entries("M1", "P1", enc.values(), as_of=date(2026, 3, 26))
    assert census_by_facility(entries) == {"MERCY": 1, "GENERAL": 1}  # the ED registration is not inpatient
    assert census_by_practice(entries) == {"P1": {"MERCY": 1, "GENERAL": 1}}
    assert {e.encounter_key: e.length_of_stay_days for e in entries} == {"MERCY|V88812": 24, "GENERAL|V3": 1}
    ed_census = census_entries("M1", "P1", enc.values(), classes=frozenset({"E"}))
    assert [e.encounter_key for e in ed_census] == ["MERCY|V2"]
