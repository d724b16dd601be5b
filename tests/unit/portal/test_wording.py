"""What the member reads is plain: the action first, dates written out, no codes."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from services.portal.domain import wording
from services.portal.domain.model import CareTask, Encounter, Gap

TODAY = date(2026, 12, 7)


def gap(measure: str, status: str = "open", due: date | None = None) -> Gap:
    return Gap(f"M1|{measure}|2026", "M1", measure, status, "no mammogram on file since 2024-10-01 (CPT 77067)", due,
               date(2026, 12, 31), datetime(2026, 12, 1, tzinfo=timezone.utc))


def test_each_measure_says_what_to_do_without_codes_or_staff_jargon():
    for measure in ("CMS125", "CMS130", "CMS122", "CMS165", "FUP"):
        a = wording.gap_advice(gap(measure), TODAY)
        text = f"{a.title} {a.action} {a.why} {a.when}"
        assert not re.search(r"\b(CMS\d+|CPT|HCPCS|ICD|numerator|denominator|measure)\b", text), text
        assert a.action.endswith(".")
    assert wording.gap_advice(gap("CMS125"), TODAY).action == "Schedule a mammogram."


def test_due_dates_read_as_words_and_past_due_is_said_kindly():
    a = wording.gap_advice(gap("CMS125", due=date(2026, 12, 31)), TODAY)
    assert a.when == "Best done by Thursday 31 December 2026."
    late = wording.gap_advice(gap("FUP", due=date(2026, 12, 1)), TODAY)
    assert late.when == "This was due by Tuesday 1 December 2026. It is not too late."


def test_a_follow_up_call_due_this_week():
    t = CareTask(uuid.uuid4(), "M1", "tcm", "x", "quality_nurse", "open", date(2026, 12, 9), None, "nurse.east1",
                 datetime(2026, 12, 6, tzinfo=timezone.utc))
    what, status = wording.task_wording(t, TODAY)
    assert what == "A nurse will call you to see how you are doing after your hospital stay."
    assert status == "Planned by Wednesday 9 December 2026."


def test_a_stay_reads_with_its_nights_in_the_members_zone():
    tz = ZoneInfo("America/New_York")
    e = Encounter("M1", "MERCY|V1", "inpatient", "MERCY", datetime(2026, 11, 2, 19, tzinfo=timezone.utc),
                  datetime(2026, 11, 6, 3, tzinfo=timezone.utc), "finished", None, None,
                  datetime(2026, 11, 6, tzinfo=timezone.utc))
    head, detail = wording.encounter_wording(e, "Mercy Synthetic Hospital", tz)
    assert head == "Hospital stay at Mercy Synthetic Hospital"
    # 03:00 UTC on the 6th is still the 5th in New York
    assert detail == "Monday 2 November 2026 to Thursday 5 November 2026 (3 nights)."
