from datetime import date

import pytest

from .builders import dx, history, member, one, svc


def test_men_are_not_applicable_with_a_reason(codes):
    r = one(codes, "CMS125", member(sex="M"), history(svc("77067", date(2026, 2, 1))))
    assert r.status == "not_applicable" and "women" in r.reason


@pytest.mark.parametrize("version,birth,status", [
    ("CMS125v14", date(1984, 12, 31), "open"),            # 42 on 2026-12-31 (v14: 42-74)
    ("CMS125v14", date(1985, 1, 1), "not_applicable"),    # 41
    ("CMS125v12", date(1974, 12, 31), "open"),            # 52 (v12: 52-74)
    ("CMS125v12", date(1975, 1, 1), "not_applicable"),    # 51
    ("CMS125v12", date(1984, 12, 31), "not_applicable"),  # 42 is out under v12
    ("CMS125v14", date(1952, 1, 1), "open"),              # 74
    ("CMS125v14", date(1951, 12, 31), "not_applicable"),  # 75
])
def test_age_range_follows_the_measure_version(codes, version, birth, status):
    r = one(codes, "CMS125", member(birth), history(), versions={"CMS125": version})
    assert r.status == status
    assert r.measure_version == version


def test_27_month_lookback_from_october_1_two_years_before(codes):
    inside = one(codes, "CMS125", member(), history(svc("77067", date(2024, 10, 1), "MG1")))
    assert inside.status == "closed"
    assert inside.lapses_on == date(2026, 12, 31)
    assert inside.evidence[0].claim_id == "MG1"
    outside = one(codes, "CMS125", member(), history(svc("77067", date(2024, 9, 30), "MG0")))
    assert outside.status == "open"
    assert outside.reason == ("no mammogram since 2024-10-01; last mammogram 2024-09-30 (77067), "
                              "expired 2025-12-31")


def test_mammogram_in_the_period_lapses_two_years_later(codes):
    r = one(codes, "CMS125", member(), history(svc("G0202", date(2026, 11, 3))))
    assert r.status == "closed" and r.lapses_on == date(2028, 12, 31)


@pytest.mark.parametrize("events", [
    (dx("Z9013", date(2020, 1, 1)),),
    (dx("Z9011", date(2019, 1, 1)), dx("Z9012", date(2021, 1, 1))),
    (svc("19303", date(2018, 3, 1), modifiers=("50",)),),
    (svc("19303", date(2018, 3, 1), modifiers=("RT",)), svc("19303", date(2019, 3, 1), modifiers=("LT",))),
    (svc("19303", date(2018, 3, 1)), svc("19303", date(2019, 3, 1))),
    (svc("19303", date(2018, 3, 1), modifiers=("RT",)), dx("Z9012", date(2021, 1, 1))),
])
def test_bilateral_mastectomy_excludes(codes, events):
    r = one(codes, "CMS125", member(), history(*events))
    assert r.status == "excluded" and "mastectom" in r.reason


def test_one_side_only_does_not_exclude(codes):
    assert one(codes, "CMS125", member(), history(dx("Z9011", date(2019, 1, 1)))).status == "open"
    assert one(codes, "CMS125", member(), history(svc("19303", date(2018, 3, 1), modifiers=("RT",)))).status == "open"


def test_common_exclusion_hospice_applies(codes):
    r = one(codes, "CMS125", member(), history(svc("Q5001", date(2026, 6, 1), "H1")))
    assert r.status == "excluded" and "hospice" in r.reason
