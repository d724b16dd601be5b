from datetime import date

import pytest

from services.gaps.domain import ServiceEvent

from .builders import dx, history, member, one, svc

DM = dx("E119", date(2026, 1, 20), "D0")


@pytest.mark.parametrize("birth,status", [
    (date(2008, 12, 31), "open"),            # 18 on the last day
    (date(2009, 1, 1), "not_applicable"),    # 17
    (date(1951, 1, 1), "open"),              # 75
    (date(1950, 12, 31), "not_applicable"),  # 76
])
def test_age_bounds(codes, birth, status):
    assert one(codes, "CMS122", member(birth), history(DM)).status == status


def test_no_diabetes_diagnosis_is_not_applicable(codes):
    r = one(codes, "CMS122", member(), history(svc("3046F", date(2026, 5, 2))))
    assert r.status == "not_applicable" and "diabetes" in r.reason


def test_diagnosis_lookback_one_year_before_the_period(codes):
    assert one(codes, "CMS122", member(), history(dx("E1165", date(2025, 1, 1)))).status == "open"
    assert one(codes, "CMS122", member(), history(dx("E1165", date(2024, 12, 31)))).status == "not_applicable"


def test_missing_test_keeps_the_gap_open(codes):
    r = one(codes, "CMS122", member(), history(DM))
    assert r.status == "open" and r.reason == "no HbA1c test in 2026"


def test_poor_control_names_the_value(codes):
    r = one(codes, "CMS122", member(), history(DM, svc("3046F", date(2026, 5, 2), "C7")))
    assert r.status == "open"
    assert r.reason.startswith("most recent HbA1c >9% on 2026-05-02 (3046F)")
    assert r.evidence[0].value == ">9%" and r.evidence[0].claim_id == "C7"


def test_numeric_lab_value_is_shown(codes):
    lab = ServiceEvent("4548-4", date(2026, 5, 2), code_system="LOINC", value="9.4")
    r = one(codes, "CMS122", member(), history(DM, lab))
    assert r.status == "open" and "9.4% on 2026-05-02" in r.reason


@pytest.mark.parametrize("code,status", [("3044F", "closed"), ("3051F", "closed"), ("3052F", "closed"), ("3046F", "open")])
def test_each_cpt2_band(codes, code, status):
    assert one(codes, "CMS122", member(), history(DM, svc(code, date(2026, 8, 1)))).status == status


def test_exactly_nine_is_controlled(codes):
    lab = ServiceEvent("4548-4", date(2026, 5, 2), code_system="LOINC", value="9.0")
    assert one(codes, "CMS122", member(), history(DM, lab)).status == "closed"


def test_a_later_result_replaces_an_earlier_one(codes):
    h = history(DM, svc("3046F", date(2026, 3, 1)), svc("3051F", date(2026, 9, 1)))
    assert one(codes, "CMS122", member(), h).status == "closed"
    h = history(DM, svc("3044F", date(2026, 3, 1)), svc("3046F", date(2026, 9, 1)))
    assert one(codes, "CMS122", member(), h).status == "open"


def test_most_recent_test_without_a_result_is_open(codes):
    h = history(DM, svc("3044F", date(2026, 3, 1)), svc("83036", date(2026, 9, 1), "L1"))
    r = one(codes, "CMS122", member(), h)
    assert r.status == "open" and "83036" in r.reason and "no result" in r.reason


def test_results_outside_the_period_do_not_count(codes):
    assert one(codes, "CMS122", member(), history(DM, svc("3044F", date(2025, 12, 31)))).status == "open"


def test_same_day_conflict_takes_the_higher_result(codes):
    h = history(DM, svc("3044F", date(2026, 5, 2), "A"), svc("3046F", date(2026, 5, 2), "B"))
    assert one(codes, "CMS122", member(), h).status == "open"


def test_common_exclusion(codes):
    r = one(codes, "CMS122", member(), history(DM, svc("M1017", date(2026, 2, 2))))
    assert r.status == "excluded" and "palliative" in r.reason
