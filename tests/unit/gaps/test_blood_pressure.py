from datetime import date

import pytest

from services.gaps.domain import ServiceEvent

from .builders import dx, history, member, one, svc

HTN = dx("I10", date(2026, 1, 15))
D = date(2026, 5, 2)


def bp(sys_code: str, dia_code: str, day: date = D, **kw):
    return svc(sys_code, day, "BP", **kw), svc(dia_code, day, "BP", **kw)


@pytest.mark.parametrize("birth,status", [
    (date(2008, 12, 31), "open"), (date(2009, 1, 1), "not_applicable"),
    (date(1941, 1, 1), "open"), (date(1940, 12, 31), "not_applicable"),
])
def test_age_bounds_18_to_85(codes, birth, status):
    assert one(codes, "CMS165", member(birth), history(HTN)).status == status


def test_hypertension_must_start_by_june_30(codes):
    assert one(codes, "CMS165", member(), history(dx("I10", date(2026, 6, 30)))).status == "open"
    r = one(codes, "CMS165", member(), history(dx("I10", date(2026, 7, 1))))
    assert r.status == "not_applicable" and "hypertension" in r.reason


def test_controlled_when_below_140_over_90(codes):
    r = one(codes, "CMS165", member(), history(HTN, *bp("3075F", "3079F")))
    assert r.status == "closed"
    assert "systolic 130-139, diastolic 80-89 mm Hg on 2026-05-02" in r.reason


@pytest.mark.parametrize("s,d", [("3077F", "3078F"), ("3074F", "3080F")])
def test_uncontrolled_shows_the_reading(codes, s, d):
    r = one(codes, "CMS165", member(), history(HTN, *bp(s, d)))
    assert r.status == "open" and "not below 140/90" in r.reason and "2026-05-02" in r.reason
    assert {e.code for e in r.evidence} == {s, d}


def test_lowest_of_each_on_the_most_recent_day(codes):
    events = (*bp("3077F", "3080F"), svc("3075F", D, "BP2"), svc("3079F", D, "BP2"),
              *bp("3074F", "3078F", date(2026, 3, 1)))
    r = one(codes, "CMS165", member(), history(HTN, *events))
    assert r.status == "closed" and "systolic 130-139, diastolic 80-89" in r.reason


def test_most_recent_day_must_have_both(codes):
    events = (*bp("3077F", "3080F", date(2026, 3, 1)), svc("3074F", date(2026, 6, 1)))
    assert one(codes, "CMS165", member(), history(HTN, *events)).status == "open"


def test_numeric_readings(codes):
    s = ServiceEvent("8480-6", D, code_system="LOINC", value="138")
    d = ServiceEvent("8462-4", D, code_system="LOINC", value="88")
    r = one(codes, "CMS165", member(), history(HTN, s, d))
    assert r.status == "closed" and "138/88 mm Hg" in r.reason
    s2 = ServiceEvent("8480-6", D, code_system="LOINC", value="140")
    assert one(codes, "CMS165", member(), history(HTN, s2, d)).status == "open"


@pytest.mark.parametrize("kw", [{"place_of_service": "23"}, {"place_of_service": "21"}, {"setting": "ed"},
                                {"revenue_code": "0450"}])
def test_inpatient_and_ed_readings_do_not_count(codes, kw):
    good_later = bp("3074F", "3078F", date(2026, 8, 1), **kw)
    r = one(codes, "CMS165", member(), history(HTN, *bp("3077F", "3080F", date(2026, 3, 1)), *good_later))
    assert r.status == "open" and "2026-03-01" in r.reason


@pytest.mark.parametrize("event,words", [
    (dx("O100", date(2026, 4, 1)), "pregnancy"),
    (dx("Z331", date(2026, 4, 1)), "pregnancy"),
    (dx("N186", date(2020, 4, 1)), "end-stage renal disease"),
    (svc("90935", date(2026, 4, 1)), "dialysis"),
    (dx("Z940", date(2015, 4, 1)), "kidney transplant"),
    (dx("N185", date(2026, 4, 1)), "stage 5"),
])
def test_exclusions(codes, event, words):
    r = one(codes, "CMS165", member(), history(HTN, event))
    assert r.status == "excluded" and words in r.reason


def test_pregnancy_before_the_period_does_not_exclude(codes):
    assert one(codes, "CMS165", member(), history(HTN, dx("O100", date(2025, 4, 1)))).status == "open"


def test_frailty_alone_excludes_from_81(codes):
    frail = dx("R54", date(2026, 4, 1))
    assert one(codes, "CMS165", member(date(1945, 1, 1)), history(HTN, frail)).status == "excluded"  # 81
    assert one(codes, "CMS165", member(date(1946, 1, 1)), history(HTN, frail)).status == "open"  # 80
