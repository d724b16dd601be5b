"""The worker's use cases over in-memory repositories: which events owe which notifications to
which subscriptions, numbered per subscription, once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from services.notifications.app import intake
from services.notifications.domain.filters import Filters
from services.notifications.domain.model import notification_id
from services.notifications.domain.subscription import Subscription
from services.notifications.routes import ROUTES
from tests.integration.notifications import events as ev

from .fakes import Unit



def sub(topics, channel="webhook", **kw) -> Subscription:
    return Subscription(id=kw.pop("id", str(uuid.uuid4())), channel=channel, topics=tuple(topics),
                        endpoint="https://example.org/h", **kw)


def test_an_admission_owes_encounter_start_to_matching_subscriptions_only():
    wanted = sub(["encounter-start"], filters=Filters(practices=frozenset({"P001"}), facilities=frozenset({"MERCY"})))
    other_practice = sub(["encounter-start"], filters=Filters(practices=frozenset({"P002"})))
    other_topic = sub(["encounter-end"])
    off = sub(["encounter-start"], status="off")
    uow = Unit([wanted, other_practice, other_topic, off])
    m = ev.member()
    alert = ev.admit(m)
    intake.apply_batch(uow, [ev.roster(m), alert], ROUTES)
    assert [(s, n, note.topic) for s, n, note in uow.outbox.deliveries] == [(wanted.id, 1, "encounter-start")]
    note = uow.outbox.deliveries[0][2]
    assert note.event_id == notification_id(alert.event_id, "encounter-start")
    assert note.audience.hospitalist_group == "HG-NORTH" and note.audience.facility == "MERCY"
    assert uow.encounters.get(alert.encounter_key).status == "in-progress"


def test_numbers_are_sequential_per_subscription_and_a_replay_owes_nothing_new():
    s1, s2 = sub(["care-gap-opened", "care-gap-closed"]), sub(["care-gap-closed"])
    uow = Unit([s1, s2])
    m = ev.member()
    batch = [ev.roster(m), ev.gap_opened(m), ev.gap_closed(m), ev.gap_opened(m, "CMS125")]
    intake.apply_batch(uow, batch, ROUTES)
    intake.apply_batch(uow, batch, ROUTES)  # the same events again (a replay): same notification ids
    got = [(s, n) for s, n, _ in uow.outbox.deliveries]
    assert got == [(s1.id, 1), (s1.id, 2), (s2.id, 1), (s1.id, 3)]


def test_discharge_owes_encounter_end_and_the_tcm_deadlines_and_a_cancel_withdraws_them():
    s = sub(["encounter-end", "care-transition-due", "encounter-cancel"])
    uow = Unit([s])
    m = ev.member()
    alert = ev.admit(m)
    tr = ev.discharge(alert, disposition="06")
    intake.apply_batch(uow, [ev.roster(m), alert, tr], ROUTES)
    topics = [n.topic for _, _, n in uow.outbox.deliveries]
    assert topics == ["encounter-end", "care-transition-due"]
    end = uow.outbox.deliveries[0][2]
    assert end.facts["event"]["disposition"] == "06" and end.facts["encounter"]["status"] == "finished"
    assert uow.outbox.deliveries[1][2].facts["event"]["tcm"]["contact_due"] == tr.contact_due.isoformat()
    intake.apply_batch(uow, [ev.cancel_discharge(tr)], ROUTES)
    cancel, withdrawn = [n for _, _, n in uow.outbox.deliveries[2:]]
    assert cancel.topic == "encounter-cancel" and cancel.facts["event"]["what"] == "discharge"
    assert withdrawn.topic == "care-transition-due" and withdrawn.facts["event"]["action"] == "withdrawn"
    assert uow.encounters.get(alert.encounter_key).status == "in-progress"


def test_a_transfer_is_a_move_and_da_vinci_gets_only_moves_between_facilities():
    plain, davinci = sub(["encounter-transfer"]), sub(["encounter-transfer"], channel="davinci")
    uow = Unit([plain, davinci])
    m = ev.member()
    alert = ev.admit(m)
    intake.apply_batch(uow, [ev.roster(m), alert, ev.transfer(alert)], ROUTES)  # a bed move
    assert [(s, n.facts["event"]["inter_facility"]) for s, _, n in uow.outbox.deliveries] == [(plain.id, False)]
    intake.apply_batch(uow, [ev.transfer(alert, facility="STLUKE")], ROUTES)
    assert {s for s, _, _ in uow.outbox.deliveries[1:]} == {plain.id, davinci.id}


def test_an_older_roster_snapshot_does_not_overwrite_a_newer_one():
    uow = Unit([])
    m = ev.member()
    now = datetime.now(timezone.utc)
    newer = ev.roster(m, practice="P002", at=now)
    older = ev.roster(m, practice="P001", at=now - timedelta(days=1))
    intake.apply_batch(uow, [newer, older], ROUTES)
    assert uow.members.get(m).practice_id == "P002"


def test_hl7_forward_and_merges_are_matched_to_members_through_the_mrn_crosswalk():
    mllp = sub(["adt-feed"], channel="mllp")
    merges = sub(["patient-merge"])
    uow = Unit([mllp, merges])
    m = ev.member()
    intake.apply_batch(uow, [ev.roster(m, mrn="100234")], ROUTES)
    unknown = ev.adt(ev.member(), mrn="999999")
    a01, a40 = ev.adt(m, mrn="100234"), ev.adt(m, trigger="A40", mrn="100234")
    intake.apply_batch(uow, [unknown, a01, a40], ROUTES)
    got = [(s, n.topic, n.member_id) for s, _, n in uow.outbox.deliveries]
    assert got == [(mllp.id, "adt-feed", m), (mllp.id, "adt-feed", m), (merges.id, "patient-merge", m)]
    assert uow.outbox.deliveries[0][2].hl7 == a01.raw


def test_an_overdue_task_is_notified_once_per_due_date():
    s = sub(["task-overdue"])
    uow = Unit([s])
    m = ev.member()
    tz = ZoneInfo("America/New_York")
    now = datetime.now(timezone.utc)
    today = now.astimezone(tz).date()
    tid = uuid.uuid4()

    def at(e, seconds: int):
        return e.model_copy(update={"occurred_at": now + timedelta(seconds=seconds)})

    intake.apply_batch(uow, [ev.roster(m), at(ev.task(m, due=today - timedelta(days=1), task_id=tid), 1),
                             at(ev.task(m, due=today), 1),  # due today: not overdue
                             at(ev.task(m, due=today - timedelta(days=3), status="scheduled"), 1)], ROUTES)
    assert intake.sweep_overdue(uow, tz, now) == 1
    assert intake.sweep_overdue(uow, tz, now) == 0, "once per task and due date"
    (_, number, note), = uow.outbox.deliveries
    assert note.topic == "task-overdue" and note.focus_id == str(tid) and number == 1
    # a late, older lifecycle event changes nothing; a new due date that passes owes a new notification
    intake.apply_batch(uow, [at(ev.task(m, due=today - timedelta(days=9), task_id=tid), 0)], ROUTES)
    assert intake.sweep_overdue(uow, tz, now) == 0
    intake.apply_batch(uow, [at(ev.task(m, due=today - timedelta(days=2), task_id=tid), 2)], ROUTES)
    assert intake.sweep_overdue(uow, tz, now) == 1
    assert len({n.event_id for _, _, n in uow.outbox.deliveries}) == 2


def test_an_hl7_message_of_a_patient_the_roster_names_later_is_forwarded_then_in_order():
    hl7 = sub(["adt-feed"], channel="mllp")
    uow = Unit([hl7])
    m = ev.member()
    mrn = "Q" + m[-7:]
    a01, a08 = ev.adt(m, mrn=mrn, trigger="A01"), ev.adt(m, mrn=mrn, trigger="A08")
    intake.apply_batch(uow, [a01], ROUTES)  # the hospital's message before the roster: nobody to match
    assert uow.outbox.deliveries == [] and [e.event_id for e in uow.held.rows] == [a01.event_id]
    intake.apply_batch(uow, [a08, ev.roster(m, mrn=mrn)], ROUTES)  # another, then the roster in one batch
    got = [(n.topic, n.facts["event"]["trigger"], n.event_id) for _, _, n in uow.outbox.deliveries]
    assert got == [("adt-feed", "A01", notification_id(a01.event_id, "adt-feed")),
                   ("adt-feed", "A08", notification_id(a08.event_id, "adt-feed"))], "held ones, oldest first"
    assert uow.held.rows == []
    a03 = ev.adt(m, mrn=mrn, trigger="A03")
    intake.apply_batch(uow, [a03], ROUTES)  # known now: forwarded at once
    assert uow.outbox.deliveries[-1][2].facts["event"]["trigger"] == "A03" and uow.held.rows == []


def test_nothing_is_held_when_no_subscription_takes_the_hl7_feed():
    uow = Unit([sub(["encounter-start"])])
    intake.apply_batch(uow, [ev.adt(ev.member(), trigger="A01")], ROUTES)
    assert uow.held.rows == []
