from datetime import date

import pytest

from services.gaps.domain import Discharge, evaluate_member

from .builders import history, member, settings, svc

DC = date(2026, 3, 10)


def fup(codes, m, h, **kw):
    return [r for r in evaluate_member(m, h, settings(measures=("FUP",), **kw), codes)]


def adt(day=DC, disposition="01", tid="T1", **kw):
    return Discharge(tid, day, "adt", disposition=disposition, **kw)


@pytest.mark.parametrize("offset,status", [(0, "open"), (1, "closed"), (30, "closed"), (31, "open")])
def test_visit_window_not_on_the_discharge_day_and_within_30_days(codes, offset, status):
    from datetime import timedelta
    visit = svc("99214", DC + timedelta(days=offset), "V9")
    (r,) = fup(codes, member(), history(adt(), visit, visit=False))
    assert r.status == status
    assert r.instance_id == "2026-03-10" and r.due_date == date(2026, 4, 9)


def test_closed_names_the_visit(codes):
    (r,) = fup(codes, member(), history(adt(), svc("99495", date(2026, 3, 15), "TCM1"), visit=False))
    assert r.status == "closed" and "99495 on 2026-03-15, claim TCM1, 5 days after" in r.reason


def test_telehealth_visit_closes(codes):
    (r,) = fup(codes, member(), history(adt(), svc("98005", date(2026, 3, 12)), visit=False))
    assert r.status == "closed"


def test_ed_visit_does_not_close(codes):
    (r,) = fup(codes, member(), history(adt(), svc("99284", date(2026, 3, 12), place_of_service="23"), visit=False))
    assert r.status == "open"


def test_one_gap_per_discharge(codes):
    rs = fup(codes, member(), history(adt(), adt(date(2026, 6, 1), tid="T2"), svc("99213", date(2026, 6, 5)), visit=False))
    assert [(r.instance_id, r.status) for r in rs] == [("2026-03-10", "open"), ("2026-06-01", "closed")]


@pytest.mark.parametrize("disposition,status", [("01", "open"), ("06", "open"), (None, "open"),
                                                ("20", "not_applicable"), ("03", "not_applicable")])
def test_alive_and_home_or_community(codes, disposition, status):
    (r,) = fup(codes, member(), history(adt(disposition=disposition), visit=False))
    assert r.status == status


def test_children_are_not_in_the_denominator(codes):
    (r,) = fup(codes, member(date(2009, 1, 1)), history(adt(), visit=False))
    assert r.status == "not_applicable" and "adults" in r.reason


def test_adt_and_claim_for_the_same_stay_make_one_gap(codes):
    claim_dc = Discharge("IP1", DC, "claim", disposition="01")
    rs = fup(codes, member(), history(adt(), claim_dc, visit=False))
    assert len(rs) == 1 and "adt T1" in rs[0].reason


def test_non_acute_stay_makes_no_gap(codes):
    assert fup(codes, member(), history(adt(acute=False), visit=False)) == []


def test_discharges_outside_the_period_make_no_gap(codes):
    assert fup(codes, member(), history(adt(date(2025, 12, 31)), visit=False)) == []


def test_window_closed_reason_after_due_date(codes):
    (r,) = fup(codes, member(), history(adt(), visit=False), as_of=date(2026, 5, 1))
    assert r.status == "open" and "window closed 2026-04-09" in r.reason


def test_hospice_excludes(codes):
    (r,) = fup(codes, member(), history(adt(), svc("G9478", date(2026, 3, 20)), visit=False))
    assert r.status == "excluded"
