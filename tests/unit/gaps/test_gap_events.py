from dataclasses import replace
from datetime import date, datetime, timezone

from shared.events import GapClosedV1, GapExcludedV1, GapOpenedV1, derive_id
from services.gaps.domain import Discharge, diff_statuses, evaluate_member

from .builders import CODES, dx, history, member, settings, svc

AT = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)


def run(m, h, previous=None, cause="cause-1", measures=("CMS130",), **kw):
    results = evaluate_member(m, h, settings(measures=measures, **kw), CODES)
    return diff_statuses(m, previous or {}, results, cause_event_id=cause, occurred_at=AT,
                         period_start=date(2026, 1, 1), measures=measures)


def test_first_open_emits_gap_opened_with_reason_and_attribution():
    d = run(member(), history())
    (ev,) = d.events
    assert isinstance(ev, GapOpenedV1)
    assert ev.gap_key == "M1|CMS130|2026-01-01" and ev.practice_id == "P1" and ev.contract_id == "K1"
    assert ev.member_id == "M1" and ev.reason.startswith("no colorectal cancer screening")
    assert ev.event_id == derive_id("cause-1", "gap:M1|CMS130|2026-01-01:open")


def test_no_event_without_a_status_change_and_replay_gives_the_same_id():
    first = run(member(), history())
    again = run(member(), history(), previous=first.stored, cause="cause-2")
    assert again.events == ()
    replay = run(member(), history())
    assert replay.events[0].event_id == first.events[0].event_id


def test_closing_then_due_soon_are_both_gap_closed():
    h = history(svc("45378", date(2017, 6, 1), "C1"))
    closed = run(member(), h, as_of=date(2026, 6, 1))
    (ev,) = closed.events
    assert isinstance(ev, GapClosedV1) and ev.status == "closed" and ev.lapses_on == date(2026, 12, 31)
    assert ev.evidence[0].code == "45378" and ev.evidence[0].claim_id == "C1"
    due = run(member(), h, previous=closed.stored, cause="nightly", as_of=date(2026, 11, 20))
    (ev2,) = due.events
    assert isinstance(ev2, GapClosedV1) and ev2.status == "due_soon"


def test_not_applicable_without_a_previous_announcement_is_silent():
    d = run(member(sex="M"), history(), measures=("CMS125",))
    assert d.events == ()
    assert d.stored["M1|CMS125|2026-01-01"].status == "not_applicable"


def test_leaving_the_denominator_after_open_emits_gap_excluded():
    opened = run(member(), history())
    excluded = run(member(), history(dx("C20", date(2026, 4, 1))), previous=opened.stored, cause="c2")
    (ev,) = excluded.events
    assert isinstance(ev, GapExcludedV1) and ev.status == "excluded" and "colorectal cancer" in ev.reason


def test_member_who_changes_practice_mid_year_carries_the_gap_along():
    opened = run(member(), history())
    moved = member(practice_id="P2")
    d = run(moved, history(), previous=opened.stored, cause="roster-2")
    (ev,) = d.events
    assert isinstance(ev, GapOpenedV1) and ev.practice_id == "P2"
    assert d.stored["M1|CMS130|2026-01-01"].practice_id == "P2"
    # the next change is reported under the new practice, and an unchanged roster is silent
    assert run(moved, history(), previous=d.stored, cause="roster-3").events == ()
    closed = run(moved, history(svc("82274", date(2026, 6, 1))), previous=d.stored, cause="claim-9")
    assert closed.events[0].practice_id == "P2"


def test_withdrawn_discharge_retires_its_follow_up_gap():
    dc = Discharge("T1", date(2026, 3, 10), "adt", disposition="01")
    opened = run(member(), history(dc, visit=False), measures=("FUP",))
    (ev,) = opened.events
    assert ev.instance_id == "2026-03-10" and ev.gap_key == "M1|FUP|2026-01-01|2026-03-10"
    gone = run(member(), history(visit=False), previous=opened.stored, cause="a13", measures=("FUP",))
    (ev2,) = gone.events
    assert isinstance(ev2, GapExcludedV1) and ev2.status == "not_applicable" and ev2.instance_id == "2026-03-10"


def test_other_periods_are_left_alone():
    opened = run(member(), history())
    old = {k.replace("2026-01-01", "2025-01-01"): replace(v, period_start=date(2025, 1, 1), gap_key=k.replace("2026", "2025"))
           for k, v in opened.stored.items()}
    d = run(member(), history(), previous={**old, **opened.stored}, cause="c3")
    assert d.events == () and any(k.endswith("2025-01-01") for k in d.stored)


def test_termed_member_retires_open_gaps():
    opened = run(member(), history())
    d = run(member(status="termed"), history(), previous=opened.stored, cause="roster-term")
    (ev,) = d.events
    assert isinstance(ev, GapExcludedV1) and ev.status == "not_applicable" and "termed" in ev.reason
