"""Stays, index stays and 30-day readmissions (admit_date - discharge_date <= 30)."""

from __future__ import annotations

import itertools

import pytest

from services.admissions.domain.encounters import build_encounters
from services.admissions.domain.readmissions import inpatient_stays, readmissions

from .builders import adt, ts

_n = itertools.count()


def stay(visit, admit_day, discharge_day, *, facility="MERCY", disposition="01", month=3, dmonth=None):
    a = adt("A01", ts(admit_day, month=month), visit=visit, facility=facility, admit=ts(admit_day, month=month),
            control_id=f"R{next(_n)}")
    d = adt("A03", ts(discharge_day, month=dmonth or month), visit=visit, facility=facility,
            discharge=ts(discharge_day, month=dmonth or month), disposition=disposition, control_id=f"R{next(_n)}")
    return [a, d]


def pairs(events):
    stays = inpatient_stays(build_encounters(events).values())
    return [(r.index.last.key, r.readmit.first.key, r.days) for r in readmissions(stays)]


@pytest.mark.parametrize("admit_day,expected", [(5, 30), (6, None)])  # discharged Mar 6; Apr 5 is day 30
def test_thirty_day_boundary(admit_day, expected):
    events = stay("V1", 2, 6) + stay("V2", admit_day, admit_day + 2, month=4)
    assert pairs(events) == ([("MERCY|V1", "MERCY|V2", 30)] if expected else [])


def test_same_or_next_day_transfer_is_one_stay_and_its_last_part_is_the_index():
    events = stay("V1", 2, 6) + stay("T1", 7, 10, facility="GENERAL") + stay("V3", 20, 22)
    stays = inpatient_stays(build_encounters(events).values())
    assert [[e.key for e in s.encounters] for s in stays] == [["MERCY|V1", "GENERAL|T1"], ["MERCY|V3"]]
    assert pairs(events) == [("GENERAL|T1", "MERCY|V3", 10)]


def test_day_two_after_discharge_is_a_readmission_not_a_transfer():
    assert pairs(stay("V1", 2, 6) + stay("V2", 8, 9)) == [("MERCY|V1", "MERCY|V2", 2)]


@pytest.mark.parametrize("disposition", ["20", "07", "41"])
def test_death_and_ama_are_not_index_stays(disposition):
    assert pairs(stay("V1", 2, 6, disposition=disposition) + stay("V2", 10, 12)) == []


def test_only_the_first_readmission_after_an_index_counts():
    # V2 is V1's readmission; V3 is within 30 days of V1 too but is not the first after it.
    # V2 ended AMA, so it is no index for V3 either.
    events = stay("V1", 2, 6) + stay("V2", 10, 12, disposition="07") + stay("V3", 15, 17)
    assert pairs(events) == [("MERCY|V1", "MERCY|V2", 4)]


def test_a_readmission_can_be_the_index_of_the_next():
    events = stay("V1", 2, 6) + stay("V2", 10, 12) + stay("V3", 15, 17)
    assert pairs(events) == [("MERCY|V1", "MERCY|V2", 4), ("MERCY|V2", "MERCY|V3", 3)]


def test_ed_visits_and_cancelled_admits_are_not_stays():
    ed = adt("A04", ts(10), visit="E1", patient_class="E", control_id="R-ed")
    a = adt("A01", ts(12), visit="X", admit=ts(12), control_id="R-x1")
    cancel = adt("A11", ts(12, 11), visit="X", control_id="R-x2")
    assert pairs(stay("V1", 2, 6) + [ed, a, cancel]) == []
