"""Opening hours, ED visit merging and the avoidable list, on hand-checked cases."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from services.risk.adapters.reference import load_avoidable_list
from services.risk.domain.ed_evidence import CLOSED, OPEN, UNKNOWN, before_after, classify, hours_class, monthly_rows
from services.risk.domain.ed_visits import EdVisit, merge_visits
from services.risk.domain.opening_hours import parse_practice_hours

CHI = ZoneInfo("America/Chicago")
HOURS = parse_practice_hours({
    "holiday_sets": {"us-2026": ["2026-07-03", "2026-11-26"]},
    "defaults": {"timezone": "America/Chicago", "holiday_sets": ["us-2026"],
                 "weekly": {d: ["08:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}},
    "practices": {
        "P001": {"extended_hours_program_start": "2026-05-01", "weekly": {
            **{d: ["08:00-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, "sat": ["09:00-13:00"]}},
        "P002": {},
        "PNY": {"timezone": "America/New_York"},
    },
})


def at(y, mo, d, h, mi, tz=CHI):
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def test_a_visit_at_1859_is_in_open_hours_and_1901_is_not_against_a_1900_close():
    p = HOURS["P002"]
    assert p.is_open(at(2026, 3, 4, 18, 59))        # a Wednesday
    assert not p.is_open(at(2026, 3, 4, 19, 0))     # the close itself is closed
    assert not p.is_open(at(2026, 3, 4, 19, 1))
    assert not p.is_open(at(2026, 3, 4, 7, 59))
    assert p.is_open(at(2026, 3, 4, 8, 0))


def test_a_holiday_is_closed_all_day_even_in_weekday_hours():
    p = HOURS["P002"]
    assert not p.is_open(at(2026, 11, 26, 10, 0))   # Thanksgiving 2026, a Thursday
    assert p.closed_all_day(date(2026, 11, 26))
    assert p.is_open(at(2026, 11, 25, 10, 0))


def test_the_practices_own_time_zone_decides():
    # 23:30 UTC on a Wednesday in March 2026 is 18:30 in Chicago (CDT, UTC-5): open there;
    # and 19:30 in New York (EDT, UTC-4): closed there.
    moment = datetime(2026, 3, 18, 23, 30, tzinfo=timezone.utc)
    assert HOURS["P002"].is_open(moment)
    assert not HOURS["PNY"].is_open(moment)
    # An ADT time sent with the hospital's offset (-05:00) is the same moment.
    assert HOURS["P002"].is_open(datetime(2026, 3, 18, 18, 30, tzinfo=ZoneInfo("Etc/GMT+5")))


def test_saturday_hours_only_where_the_practice_has_them():
    assert HOURS["P001"].is_open(at(2026, 3, 7, 10, 0))
    assert not HOURS["P002"].is_open(at(2026, 3, 7, 10, 0))
    assert HOURS["P002"].closed_all_day(date(2026, 3, 7))


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        HOURS["P002"].is_open(datetime(2026, 3, 4, 12, 0))


@pytest.mark.parametrize("spec, message", [
    ({"practices": {"X": {"timezone": "Mars/Olympus"}}}, "IANA time zone"),
    ({"practices": {"X": {"timezone": "UTC", "weekly": {"mon": ["19:00-08:00"]}}}}, "must end after it starts"),
    ({"practices": {"X": {"timezone": "UTC", "weekly": {"mon": ["8-7pm"]}}}}, "HH:MM-HH:MM"),
    ({"practices": {"X": {"timezone": "UTC", "weekly": {"monday": ["08:00-12:00"]}}}}, "days are"),
    ({"practices": {"X": {"timezone": "UTC", "holidays": ["2026-13-01"]}}}, "YYYY-MM-DD"),
])
def test_bad_hours_data_is_refused_with_the_place_and_the_rule(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_practice_hours(spec, "hours.yaml")


def adt(day, hh, mm, dx="R079", key="E1"):
    t = at(day.year, day.month, day.day, hh, mm)
    return EdVisit("M1", day, t, dx, True, False, encounter_key=key)


def claim(day, dx="J069", cid="C1"):
    return EdVisit("M1", day, None, dx, False, True, claim_id=cid)


def test_a_claim_and_an_adt_visit_of_the_same_day_are_one_visit_with_the_claims_diagnosis():
    merged = merge_visits([adt(date(2026, 3, 4), 21, 15)], [claim(date(2026, 3, 4))])
    assert len(merged) == 1
    v = merged[0]
    assert v.sources == "both" and v.arrival.hour == 21 and v.primary_dx == "J069" and v.claim_id == "C1"


def test_a_visit_past_midnight_billed_the_next_day_is_still_one_visit():
    merged = merge_visits([adt(date(2026, 3, 4), 23, 40)], [claim(date(2026, 3, 5))])
    assert [v.sources for v in merged] == ["both"]


def test_two_claims_on_one_day_with_one_adt_visit_make_two_visits():
    merged = merge_visits([adt(date(2026, 3, 4), 10, 0)], [claim(date(2026, 3, 4), cid="C1"),
                                                           claim(date(2026, 3, 4), cid="C2")])
    assert sorted(v.sources for v in merged) == ["both", "claims"]


def test_a_claim_three_days_away_is_another_visit():
    merged = merge_visits([adt(date(2026, 3, 4), 10, 0)], [claim(date(2026, 3, 7))])
    assert sorted(v.sources for v in merged) == ["adt", "claims"]


def test_hours_class_of_claims_only_visits():
    p = HOURS["P002"]
    assert hours_class(claim(date(2026, 3, 7)), p) == CLOSED      # Saturday: closed all day
    assert hours_class(claim(date(2026, 11, 26)), p) == CLOSED     # holiday
    assert hours_class(claim(date(2026, 3, 4)), p) == UNKNOWN      # a weekday: the time is unknown
    assert hours_class(adt(date(2026, 3, 4), 18, 59), p) == OPEN
    assert hours_class(adt(date(2026, 3, 4), 19, 1), p) == CLOSED


def test_the_avoidable_list_is_the_ahrq_pqe_data_with_its_age_bands():
    lst = load_avoidable_list()
    assert "PQE" in lst.source and "10.1111/1475-6773.12687" in lst.source
    assert lst.classify("J06.9", 40) == "pqe03_acute"         # URI, under 65
    assert lst.classify("J069", 70) is None                   # PQE 03 is for ages under 65
    assert lst.classify("M545", 70) == "pqe05_back_pain"       # low back pain, 18+
    assert lst.classify("I5022", 70) == "pqe02_chronic"        # heart failure, 40+
    assert lst.classify("R079", 70) is None                    # chest pain is not on the list
    assert lst.classify(None, 70) is None


def test_monthly_rows_and_before_after_the_program_start_count_every_visit():
    lst = load_avoidable_list()
    p = HOURS["P001"]   # program from 2026-05-01
    visits = [
        adt(date(2026, 4, 8), 20, 0, dx="M545"),   # before, closed, avoidable
        adt(date(2026, 4, 9), 10, 0, dx="R079"),   # before, open
        claim(date(2026, 4, 11), dx="M545"),        # before, Saturday: P001 opens 09-13 -> unknown, avoidable
        adt(date(2026, 5, 6), 20, 30, dx="R079"),  # after, closed
        claim(date(2026, 5, 10), dx="R109"),        # after, Sunday -> closed
    ]
    rows = monthly_rows(classify(v, practice_id="P001", hours=p, avoidable=lst, age=70) for v in visits)
    april, may = rows
    assert (april.month, april.period, april.visits, april.open_hours, april.closed_hours, april.unknown_hours,
            april.avoidable, april.avoidable_closed) == ("2026-04", "before", 3, 1, 1, 1, 2, 1)
    assert april.closed_share == 0.5 and april.avoidable_share == round(2 / 3, 4)
    assert (may.period, may.visits, may.closed_hours, may.avoidable) == ("after", 2, 2, 0)
    summary = before_after(rows)["P001"]
    assert summary["before"]["visits"] == 3 and summary["after"]["visits"] == 2
    assert summary["after"]["closed_share"] == 1.0


def test_the_schedule_in_force_changes_at_the_program_start_and_its_new_slots_are_counted():
    p = parse_practice_hours({"practices": {"P9": {
        "timezone": "America/Chicago", "extended_hours_program_start": "2026-07-01",
        "weekly_before_program": {"wed": ["08:00-17:00"]},
        "weekly": {"wed": ["08:00-20:00"], "sat": ["09:00-13:00"]},
    }}})["P9"]
    before, after = at(2026, 6, 24, 18, 30), at(2026, 7, 1, 18, 30)     # two Wednesdays, 18:30
    assert not p.is_open(before) and p.is_open(after)
    assert p.in_extended_slot(before) and p.in_extended_slot(after)       # the same slot, either side
    assert not p.in_extended_slot(at(2026, 7, 1, 10, 0))                  # open before and after
    assert p.closed_all_day(date(2026, 6, 27)) and not p.closed_all_day(date(2026, 7, 4))   # Saturdays
    lst = load_avoidable_list()
    rows = monthly_rows(classify(v, practice_id="P9", hours=p, avoidable=lst, age=70)
                        for v in (adt(date(2026, 6, 24), 18, 30), adt(date(2026, 7, 1), 18, 30)))
    assert [(r.period, r.closed_hours, r.open_hours, r.extended_slot) for r in rows] == \
        [("before", 1, 0, 1), ("after", 0, 1, 1)]
