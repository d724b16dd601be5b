"""The dispatcher's store on both databases the service runs on (PostgreSQL, where leasing and
recording are single set-based statements, and the embedded SQLite of ``./ccp demo``): what is
leased (each member's oldest owed delivery only, within the window, one probe while failing,
nothing before the probe's time), who may record a result (the lease's owner only), and that an
expired lease is leased again with the same notification."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.adapters.database import migrate
from services.notifications.adapters.dispatch_sql import SqlDispatchStore
from services.notifications.adapters.intake_sql import SqlIntakeUnit
from services.notifications.adapters.secretbox import SecretBox
from services.notifications.adapters.subscriptions_sql import SqlSubscriptionStore, SystemResolver
from services.notifications.app.dispatch import decide
from services.notifications.app.subscriptions import Limits, Subscriptions
from services.notifications.domain.access import Actor
from services.notifications.domain.endpoints import OutboundPolicy
from services.notifications.domain.model import Audience, Notification
from services.notifications.domain.retry import Outcome
from tests.support.infra import Databases

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        database = migrate(f"sqlite:///{tmp_path / 'notifications.db'}")
        yield database
        database.dispose()
        return
    databases = Databases(request.getfixturevalue("postgres_server_url"))
    database = migrate(databases.new())
    yield database
    database.dispose()
    databases.drop_all()


def subscribe(db, max_in_flight: int = 4) -> str:
    subs = Subscriptions(SqlSubscriptionStore(db, SecretBox.from_setting(None, False)),
                         OutboundPolicy.parse(require_tls=False, ports="*", networks="127.0.0.1/32"),
                         SystemResolver(), Limits())
    sub, _secret = subs.create(Actor("ops", frozenset({"ops"})), {
        "channel": "webhook", "endpoint": "http://127.0.0.1:9/hook", "topics": ["care-gap-opened"],
        "max_in_flight": max_in_flight}, T0)
    return sub.id


def note(member: str, i: int) -> Notification:
    return Notification(event_id=uuid.uuid4(), topic="care-gap-opened", member_id=member, occurred_at=T0,
                        recorded_at=T0, source_event_id=uuid.uuid4(), audience=Audience(member, practice_id="P001"),
                        focus_type="DetectedIssue", focus_id=f"gap-{i}", facts={"event": {"n": i}, "text": "a\rb\"c"})


def owe(db, notes: list[Notification]) -> None:
    with db.transaction() as s:
        uow = SqlIntakeUnit(s)
        subs = uow.outbox.subscriptions()
        assert uow.outbox.append([(n, subs) for n in notes]) == len(notes)


def lease(store, now, owner="a", batch=100):
    return store.lease(now, owner, now + timedelta(seconds=60), batch)


def test_each_member_s_oldest_owed_delivery_is_leased_within_the_window(db):
    sub_id = subscribe(db, max_in_flight=1)  # window: 1 x PREFETCH (4)
    store = SqlDispatchStore(db, SecretBox.from_setting(None, False))
    members = ["M1", "M1", "M2", "M3", "M1", "M4", "M5", "M6"]
    notes = [note(m, i) for i, m in enumerate(members)]
    owe(db, notes)
    now = datetime.now(timezone.utc)
    first = lease(store, now)
    assert [(d.notification.member_id, d.event_number) for d in first] == [
        ("M1", 1), ("M2", 3), ("M3", 4), ("M4", 6)], "each member's oldest only, window of 4"
    got = first[0].notification
    assert (got.event_id, got.facts, got.audience.practice_id, got.occurred_at) == (
        notes[0].event_id, notes[0].facts, "P001", T0), "the notification comes back as stored"
    assert lease(store, now, owner="b") == [], "the window is full: nothing for another dispatcher"
    # M1's first delivered: its second becomes its head, and the window has room for one
    store.record([decide(first[0], Outcome.http(204, 0.01), now, now)], now, "a")
    second = lease(store, now, owner="b")
    assert [(d.notification.member_id, d.event_number) for d in second] == [("M1", 2)], (
        "the oldest head first: M1's second (2) before M5's first (7)")
    assert all(d.subscription.id == sub_id for d in first + second)


def test_a_failing_subscription_gets_one_probe_after_its_backoff(db):
    subscribe(db, max_in_flight=8)
    store = SqlDispatchStore(db, SecretBox.from_setting(None, False))
    owe(db, [note(f"M{i}", i) for i in range(10)])
    now = datetime.now(timezone.utc)
    leased = lease(store, now)
    assert len(leased) == 10
    failed = [decide(d, Outcome.http(503, 0.01), now, now) for d in leased]
    store.record(failed, now, "a")
    retry_at = max(r.due_at for r in failed)
    assert lease(store, now) == [], "nothing before the probe's time"
    later = retry_at + timedelta(seconds=1)
    probe = lease(store, later)
    assert len(probe) == 1 and probe[0].failures == 1 and probe[0].event_number == 1, "one probe, the oldest"
    assert lease(store, later, owner="b") == [], "one probe at a time"
    store.record([decide(probe[0], Outcome.http(200, 0.01), later, later)], later, "a")
    # the success releases the backlog (the others were failed once: due at their own backoff)
    after = lease(store, retry_at + timedelta(seconds=120))
    assert len(after) == 9


def test_only_the_lease_owner_records_and_an_expired_lease_is_sent_again_with_the_same_notification(db):
    subscribe(db)
    store = SqlDispatchStore(db, SecretBox.from_setting(None, False))
    owe(db, [note("M1", 1)])
    now = datetime.now(timezone.utc)
    mine = lease(store, now, owner="a")
    assert len(mine) == 1
    expired = now + timedelta(seconds=120)  # the lease ran out (its owner died or hung)
    theirs = lease(store, expired, owner="b")
    assert [d.notification.event_id for d in theirs] == [mine[0].notification.event_id]
    store.record([decide(mine[0], Outcome.http(200, 0.01), expired, expired)], expired, "a")  # late: ignored
    with db.transaction() as s:
        state = s.execute(db.metadata.tables["deliveries"].select()).one()
    assert (state.state, state.lease_owner) == ("pending", "b")
    store.record([decide(theirs[0], Outcome.http(200, 0.01), expired, expired)], expired, "b")
    with db.transaction() as s:
        state = s.execute(db.metadata.tables["deliveries"].select()).one()
        attempts = s.execute(db.metadata.tables["attempts"].select()).all()
    assert (state.state, state.attempts, state.lease_owner) == ("delivered", 1, None)
    assert len(attempts) == 2, "both attempts are in the log"
    assert {a.dispatcher for a in attempts} == {"a", "b"}


def test_a_given_up_delivery_is_kept_as_a_dead_letter_and_published_once_confirmed(db):
    from services.notifications.adapters import dead_letters
    from services.notifications.domain.retry import RetryPolicy

    subscribe(db)
    store = SqlDispatchStore(db, SecretBox.from_setting(None, False))
    n = note("M1", 1)
    owe(db, [n])
    now = datetime.now(timezone.utc)
    d = lease(store, now)[0]
    d = replace(d, subscription=replace(d.subscription, retry=RetryPolicy(max_attempts=1)))
    store.record([decide(d, Outcome.http(503, 0.01), now, now)], now, "a")

    def broker_down(_events):
        raise RuntimeError("broker unavailable")

    with pytest.raises(RuntimeError):
        dead_letters.publish(db, broker_down, now)
    sent: list = []
    assert dead_letters.publish(db, sent.extend, now) == 1, "kept until the broker confirmed it"
    assert dead_letters.publish(db, sent.extend, now) == 0, "published once"
    letter = sent[0]
    assert (letter.notification_id, letter.member_id, letter.attempts, letter.last_status, letter.event_number,
            letter.subscription_id) == (n.event_id, "M1", 1, "503", 1, d.subscription.id)
    assert "gave up after 1 attempts" in letter.reason
    assert letter.event_id == dead_letters.event_of(_kept(db)).event_id, "the same dead letter, the same event id"


def _kept(db):
    with db.transaction() as s:
        return s.execute(db.metadata.tables["dead_letters"].select()).one()
