"""The worker's use cases keep what a member may see, whatever order the events arrive in."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import InvalidEvent

from . import events as ev
from .fakes import FakeUnitOfWork, dispatch


def apply(uow, *events):
    for e in events:
        dispatch(uow, e)
    return uow.committed


def test_newest_roster_snapshot_wins_even_when_it_arrives_first():
    uow = FakeUnitOfWork()
    s = apply(uow, ev.roster("M1", at=ev.T0, given="Newer"), ev.roster("M1", at=ev.T0 - timedelta(days=1), given="Old"))
    assert s.members["M1"].given_name == "Newer"


def test_gap_status_follows_event_time_not_arrival():
    uow = FakeUnitOfWork()
    s = apply(uow, ev.gap_closed("M1", at=ev.T0), ev.gap_opened("M1", at=ev.T0 - timedelta(days=30)))
    (gap,) = s.gaps.values()
    assert gap.status == "closed"


def test_admission_then_discharge_is_one_finished_stay_and_the_reverse_order_gives_the_same():
    alert_id, tid = uuid.uuid4(), uuid.uuid4()
    a = ev.alert("M1", at=ev.T0 - timedelta(days=3), alert_id=alert_id)
    d = ev.discharge("M1", at=ev.T0, admitted=ev.T0 - timedelta(days=3), transition_id=tid)
    one = apply(FakeUnitOfWork(), a, d).encounters
    two = apply(FakeUnitOfWork(), d, a).encounters
    assert len(one) == len(two) == 1
    e1, e2 = one[("M1", "MERCY|V1")], two[("M1", "MERCY|V1")]
    assert (e1.status, e1.started_at, e1.ended_at) == (e2.status, e2.started_at, e2.ended_at) == \
        ("finished", ev.T0 - timedelta(days=3), ev.T0)


def test_cancelled_admission_disappears_and_cancelled_discharge_reopens_the_stay():
    alert_id, tid = uuid.uuid4(), uuid.uuid4()
    s = apply(FakeUnitOfWork(), ev.alert("M1", alert_id=alert_id), ev.retraction("M1", alert_id))
    assert s.encounters[("M1", "MERCY|V1")].status == "cancelled"
    s = apply(FakeUnitOfWork(), ev.alert("M1", alert_id=alert_id, at=ev.T0 - timedelta(days=2)),
              ev.discharge("M1", transition_id=tid), ev.discharge_cancelled("M1", tid))
    e = s.encounters[("M1", "MERCY|V1")]
    assert (e.status, e.ended_at) == ("in_progress", None)


def test_a_retraction_of_another_members_alert_changes_nothing():
    alert_id = uuid.uuid4()
    s = apply(FakeUnitOfWork(), ev.alert("M1", alert_id=alert_id), ev.retraction("M2", alert_id))
    assert s.encounters[("M1", "MERCY|V1")].status == "in_progress"


def test_task_keeps_the_appointment_it_was_scheduled_for_and_the_latest_status():
    tid = uuid.uuid4()
    when = ev.T0.date() + timedelta(days=5)
    s = apply(FakeUnitOfWork(), ev.task("M1", task_id=tid, status="open", at=ev.T0),
              ev.task("M1", task_id=tid, status="scheduled", appointment=when, at=ev.T0 + timedelta(hours=1)),
              ev.task("M1", task_id=tid, status="claimed", at=ev.T0 + timedelta(minutes=30)))  # late, older
    t = s.tasks[tid]
    assert (t.status, t.appointment_date) == ("scheduled", when)


def test_a_reply_naming_another_members_message_is_refused():
    uow = FakeUnitOfWork()
    from shared.events import PortalMessageSentV1
    mid = uuid.uuid4()
    dispatch(uow, PortalMessageSentV1(
        **PortalMessageSentV1.envelope(occurred_at=ev.T0, source="portal", member_id="M1", event_id=mid),
        message_id=mid, topic="appointment", subject="s", body="b", signed_in_via="dev_code"))
    with pytest.raises(InvalidEvent):
        dispatch(uow, ev.reply("M2", mid))
    dispatch(uow, ev.reply("M1", mid))
    assert len(uow.committed.replies) == 1


def test_event_types_without_a_use_are_skipped():
    """Accepted (a no-op route, not dead-lettered) and changing nothing."""
    from shared.events import ReadmissionV1
    from datetime import date
    from services.portal.app.projection import skip
    from services.portal.routes import ROUTES
    r = ReadmissionV1(**ReadmissionV1.envelope(occurred_at=ev.T0, source="t", member_id="M1"),
                      readmission_id=uuid.uuid4(), index_encounter_key="a", index_discharge_date=date(2026, 11, 1),
                      readmit_encounter_key="b", admit_date=date(2026, 11, 5), days_since_discharge=4,
                      pcp_practice_id="P001", contract_id="MMO-2026")
    assert ROUTES.route_for(r).use_case is skip
    uow = FakeUnitOfWork()
    before = copy.deepcopy(uow.committed)
    assert dispatch(uow, r) == []
    assert uow.commits == 1 and replace(uow.committed, commits=0) == before


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(5)))
def test_any_arrival_order_of_gap_and_encounter_events_converges(order):
    alert_id, tid = uuid.uuid4(), uuid.uuid4()
    events = [
        ev.gap_opened("M1", at=ev.T0 - timedelta(days=10)),
        ev.gap_closed("M1", at=ev.T0 - timedelta(days=2)),
        ev.alert("M1", at=ev.T0 - timedelta(days=5), alert_id=alert_id),
        ev.discharge("M1", at=ev.T0 - timedelta(days=1), admitted=ev.T0 - timedelta(days=5), transition_id=tid),
        ev.roster("M1", at=ev.T0 - timedelta(days=20)),
    ]
    s = apply(FakeUnitOfWork(), *[events[i] for i in order])
    (gap,) = s.gaps.values()
    enc = s.encounters[("M1", "MERCY|V1")]
    assert gap.status == "closed"
    assert (enc.status, enc.started_at, enc.ended_at) == ("finished", ev.T0 - timedelta(days=5),
                                                          ev.T0 - timedelta(days=1))


def _counted(event_type: str) -> float:
    from prometheus_client import REGISTRY
    return REGISTRY.get_sample_value("portal_projection_events_total", {"event_type": event_type}) or 0.0


def test_a_batch_is_counted_once_it_committed_never_for_an_attempt_rolled_back():
    """``portal_projection_events_total`` counts committed work: a commit that fails (the consumer
    pipeline then retries the batch) and a batch refused part-way count nothing; the attempt that
    commits counts each event once."""
    from shared.errors import TransientError
    uow = FakeUnitOfWork()
    batch = [ev.roster("M1"), ev.gap_opened("M1"), ev.gap_opened("M2")]
    before = _counted("roster.member"), _counted("gap.opened")
    uow.fail_commit = True
    with pytest.raises(TransientError):
        dispatch(uow, *batch)
    assert (_counted("roster.member"), _counted("gap.opened")) == before and uow.committed.members == {}
    from shared.events import PortalMessageSentV1
    mid = uuid.uuid4()
    message = PortalMessageSentV1(
        **PortalMessageSentV1.envelope(occurred_at=ev.T0, source="portal", member_id="M1", event_id=mid),
        message_id=mid, topic="appointment", subject="s", body="b", signed_in_via="dev_code")
    with pytest.raises(InvalidEvent):  # a reply naming another member's message: the attempt rolls back
        dispatch(uow, *batch, message, ev.reply("M2", mid))
    assert (_counted("roster.member"), _counted("gap.opened")) == before and uow.committed.members == {}
    dispatch(uow, *batch)
    assert (_counted("roster.member"), _counted("gap.opened")) == (before[0] + 1, before[1] + 2)
    assert set(uow.committed.members) == {"M1"}
