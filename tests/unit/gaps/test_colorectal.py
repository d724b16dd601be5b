from datetime import date

import pytest

from .builders import dx, history, member, one, svc


@pytest.mark.parametrize("birth,status", [
    (date(1980, 12, 31), "open"),            # 46 on 2026-12-31: youngest in
    (date(1981, 1, 1), "not_applicable"),    # 45 on the last day
    (date(1951, 1, 1), "open"),              # 75: oldest in
    (date(1950, 12, 31), "not_applicable"),  # 76
])
def test_age_on_last_day_of_period_bounds(codes, birth, status):
    r = one(codes, "CMS130", member(birth), history())
    assert r.status == status
    if status == "not_applicable":
        assert "age" in r.reason and "46-75" in r.reason


def test_no_qualifying_visit_is_not_applicable_never_open(codes):
    r = one(codes, "CMS130", member(), history(visit=False))
    assert r.status == "not_applicable"
    assert "no qualifying visit" in r.reason


@pytest.mark.parametrize("code,inside,outside", [
    ("45378", date(2017, 1, 1), date(2016, 12, 31)),  # colonoscopy: period + 9 prior years
    ("G0121", date(2017, 1, 1), date(2016, 12, 31)),
    ("74263", date(2022, 1, 1), date(2021, 12, 31)),  # CT colonography: + 4
    ("45330", date(2022, 1, 1), date(2021, 12, 31)),  # flexible sigmoidoscopy: + 4
    ("81528", date(2024, 1, 1), date(2023, 12, 31)),  # stool DNA with FIT: + 2
    ("82274", date(2026, 1, 1), date(2025, 12, 31)),  # FIT: the period only
])
def test_lookback_to_the_exact_day(codes, code, inside, outside):
    closed = one(codes, "CMS130", member(), history(svc(code, inside, "C1")))
    assert closed.status == "closed"
    assert closed.evidence[0].code == code and closed.evidence[0].claim_id == "C1"
    assert closed.lapses_on == date(2026, 12, 31)
    expired = one(codes, "CMS130", member(), history(svc(code, outside, "C2")))
    assert expired.status == "open"
    assert f"{outside.isoformat()}" in expired.reason and "expired 2025-12-31" in expired.reason


def test_open_reason_names_the_expired_test(codes):
    r = one(codes, "CMS130", member(), history(svc("82274", date(2023, 1, 10))))
    assert r.status == "open"
    assert r.reason == ("no colorectal cancer screening on file for 2026; last FIT/FOBT 2023-01-10 (82274), "
                        "expired 2023-12-31")
    assert r.due_date == date(2026, 12, 31)


def test_best_evidence_is_the_one_that_lasts_longest(codes):
    r = one(codes, "CMS130", member(), history(svc("82274", date(2026, 3, 1)), svc("45378", date(2020, 5, 5), "CX")))
    assert r.status == "closed" and r.evidence[0].code == "45378"
    assert r.lapses_on == date(2029, 12, 31)
    assert "counts through 2029-12-31" in r.reason


def test_due_soon_when_the_evidence_lapses_within_the_horizon(codes):
    h = history(svc("45378", date(2017, 6, 1)))
    assert one(codes, "CMS130", member(), h, as_of=date(2026, 11, 15)).status == "due_soon"
    assert one(codes, "CMS130", member(), h, as_of=date(2026, 9, 1)).status == "closed"
    assert one(codes, "CMS130", member(), h, as_of=date(2026, 11, 15), due_soon_days=30).status == "closed"


@pytest.mark.parametrize("event,words", [
    (dx("C189", date(2019, 4, 1)), "colorectal cancer"),
    (dx("C20", date(2026, 4, 1)), "colorectal cancer"),
    (svc("44150", date(2015, 4, 1)), "total colectomy"),
    (svc("G9473", date(2026, 3, 1)), "hospice"),
    (dx("Z515", date(2026, 3, 1)), "palliative"),
])
def test_exclusions_name_their_evidence(codes, event, words):
    r = one(codes, "CMS130", member(), history(event))
    assert r.status == "excluded"
    assert words in r.reason
    assert r.evidence and r.evidence[0].date == event.date


def test_exclusion_after_the_period_does_not_count(codes):
    r = one(codes, "CMS130", member(), history(dx("C20", date(2027, 1, 2))))
    assert r.status == "open"


def test_hospice_before_the_period_does_not_exclude(codes):
    assert one(codes, "CMS130", member(), history(svc("G9473", date(2025, 12, 31)))).status == "open"


def test_frailty_with_advanced_illness_excludes_only_from_66(codes):
    events = (dx("R54", date(2026, 5, 1)), dx("I509", date(2025, 1, 1)))
    old = one(codes, "CMS130", member(date(1960, 12, 31)), history(*events))  # 66
    young = one(codes, "CMS130", member(date(1961, 1, 1)), history(*events))  # 65
    assert old.status == "excluded" and "frailty" in old.reason and "advanced illness" in old.reason
    assert young.status == "open"


def test_frailty_alone_or_illness_too_old_does_not_exclude(codes):
    assert one(codes, "CMS130", member(date(1955, 1, 1)), history(dx("R54", date(2026, 5, 1)))).status == "open"
    events = (dx("R54", date(2026, 5, 1)), dx("I509", date(2024, 12, 31)))  # illness before the prior year
    assert one(codes, "CMS130", member(date(1955, 1, 1)), history(*events)).status == "open"


def test_long_term_nursing_home_excludes_from_66(codes):
    nf = svc("99310", date(2026, 4, 1), "N1", place_of_service="32")
    assert one(codes, "CMS130", member(date(1955, 1, 1)), history(nf)).status == "excluded"
    assert one(codes, "CMS130", member(date(1965, 1, 1)), history(nf)).status == "open"
