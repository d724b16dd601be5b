"""The member's use cases on in-memory repositories: only their own data, sessions that end,
sign-in limits, messages that are sent once or not at all."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.portal.app import reads
from services.portal.app.messages import send_message
from services.portal.app.patient_access import patient_record
from services.portal.app.sessions import SessionPolicy, resume, sign_in_with_claims, sign_in_with_code, sign_out
from services.portal.domain.access import Principal
from services.portal.domain.errors import InvalidInput, NotFound, SignInRefused, Unavailable
from services.portal.domain.signin import DEV_SIGNIN_KEY, dev_signin_code

from . import events as ev
from .fakes import FakeDirectory, FakePublisher, FakeUnitOfWork, dispatch

POLICY = SessionPolicy(idle=timedelta(minutes=20), lifetime=timedelta(hours=8))
A, B = Principal("MA", "dev_code", "s-a"), Principal("MB", "dev_code", "s-b")


@pytest.fixture
def uow():
    u = FakeUnitOfWork()
    for e in (ev.roster("MA"), ev.roster("MB", given="Bea"), ev.gap_opened("MA"), ev.gap_opened("MB", "CMS130"),
              ev.alert("MB", key="MERCY|VB"), ev.task("MA", kind="tcm", due=date(2026, 12, 3)),
              ev.task("MA", kind="gap", reason_key="FUP", role="care_navigator", assignee="navigator.east",
                      at=ev.T0 + timedelta(days=1))):
        dispatch(u, e)
    return u


def send(uow, who, *, token="t" * 20, publisher=None, **kw):
    fields = dict(topic="appointment", subject="Follow-up", body="Can you help me book it?")
    fields.update(kw)
    return send_message(uow, publisher or FakePublisher(), who, form_token=token, now=ev.T0, endpoint="PAGE POST /m",
                        **fields)


def test_overview_shows_the_members_own_records_and_audits_the_read(uow):
    view = reads.overview(uow, FakeDirectory(), A, "PAGE GET /", date(2026, 12, 1))
    assert view.member.member_id == "MA"
    assert [g.measure_id for g in view.gaps] == ["CMS125"]
    assert view.encounters == []                     # MB's ED visit is not here
    assert view.team.coordinator_name == "Nurse East 1"
    (row,) = uow.committed.audit
    assert (row["user_id"], row["member_id"], row["action"], row["endpoint"]) == ("member:MA", "MA", "read", "PAGE GET /")


def test_another_members_message_reads_as_not_found(uow):
    message, _ = send(uow, B)
    with pytest.raises(NotFound):
        reads.thread(uow, A, message.message_id, "PAGE GET /messages/{id}")
    with pytest.raises(NotFound):
        reads.thread(uow, A, uuid.uuid4(), "PAGE GET /messages/{id}")
    assert reads.thread(uow, B, message.message_id, "x").message.member_id == "MB"


def test_a_message_is_the_signed_in_members_and_goes_to_kafka_before_it_is_kept(uow):
    publisher = FakePublisher()
    message, new = send(uow, A, publisher=publisher)
    assert new and message.member_id == "MA"
    (event,) = publisher.sent
    assert (event.member_id, event.event_id, event.topic) == ("MA", message.message_id, "appointment")
    assert uow.committed.messages[message.message_id].body == "Can you help me book it?"
    assert [r["action"] for r in uow.committed.audit] == ["write"]


def test_the_same_form_sent_twice_is_one_message(uow):
    first, _ = send(uow, A)
    again, new = send(uow, A)
    assert not new and again.message_id == first.message_id
    assert len(uow.committed.messages) == 1


def test_when_kafka_does_not_confirm_nothing_is_kept(uow):
    with pytest.raises(Unavailable):
        send(uow, A, publisher=FakePublisher(fail=True))
    assert uow.committed.messages == {} and uow.committed.audit == []


def test_a_follow_up_can_only_answer_ones_own_reply(uow):
    message, _ = send(uow, B)
    reply = ev.reply("MB", message.message_id)
    dispatch(uow, reply)
    with pytest.raises(NotFound):
        send(uow, A, token="u" * 20, in_reply_to=reply.reply_id)
    follow, _ = send(uow, B, token="u" * 20, in_reply_to=reply.reply_id)
    assert [t.message.message_id for t in reads.threads(uow, B, "x")] == [message.message_id]
    assert reads.threads(uow, B, "x")[0].follow_ups == [follow]


@pytest.mark.parametrize("fields,field", [
    ({"topic": "lottery"}, "topic"), ({"subject": "  "}, "subject"), ({"body": "\x00\x01"}, "body"),
    ({"body": "x" * 4001}, "body"),
])
def test_bad_messages_are_refused_with_the_field_named(uow, fields, field):
    with pytest.raises(InvalidInput) as exc:
        send(uow, A, **fields)
    assert exc.value.field == field


def test_dev_code_sign_in_and_the_session_that_follows(uow):
    code = dev_signin_code("MA")
    started = sign_in_with_code(uow, member_id=" ma ", code=code.lower().replace("-", " "), now=ev.T0, allowed=True,
                                key=DEV_SIGNIN_KEY, policy=POLICY, endpoint="PAGE POST /signin")
    assert started.principal.member_id == "MA"
    principal, csrf = resume(uow, started.token, ev.T0 + timedelta(minutes=5), POLICY)
    assert principal.member_id == "MA" and csrf == started.csrf_token
    assert started.token not in str(uow.committed.sessions)          # only its hash is kept


def test_sessions_end_when_idle_at_their_lifetime_and_at_sign_out(uow):
    def start():
        return sign_in_with_code(uow, member_id="MA", code=dev_signin_code("MA"), now=ev.T0, allowed=True,
                                 key=DEV_SIGNIN_KEY, policy=POLICY, endpoint="x")
    s = start()
    assert resume(uow, s.token, ev.T0 + timedelta(minutes=21), POLICY) is None            # idle
    s = start()
    t = ev.T0
    for _ in range(8 * 4):                                                                # busy all day
        t += timedelta(minutes=15)
        found = resume(uow, s.token, t, POLICY)
    assert found is None and t == ev.T0 + timedelta(hours=8)                             # lifetime
    s = start()
    sign_out(uow, s.token, ev.T0 + timedelta(minutes=1), "x")
    assert resume(uow, s.token, ev.T0 + timedelta(minutes=2), POLICY) is None
    assert resume(uow, "not-a-session", ev.T0, POLICY) is None


def test_a_member_id_alone_or_anothers_code_does_not_sign_in_and_guessing_locks(uow):
    def attempt(code, mid="MA", at=ev.T0):
        return sign_in_with_code(uow, member_id=mid, code=code, now=at, allowed=True, key=DEV_SIGNIN_KEY,
                                 policy=POLICY, endpoint="x")
    for code in ("", "MA", dev_signin_code("MB"), "ABCD-EFGH"):
        with pytest.raises(SignInRefused) as exc:
            attempt(code)
        assert not exc.value.locked
    with pytest.raises(SignInRefused):
        attempt("ZZZZ-ZZZZ")
    with pytest.raises(SignInRefused) as exc:                                           # sixth: locked, even right
        attempt(dev_signin_code("MA"))
    assert exc.value.locked
    assert attempt(dev_signin_code("MA"), at=ev.T0 + timedelta(minutes=16)).principal.member_id == "MA"
    assert attempt(dev_signin_code("MB"), mid="MB").principal.member_id == "MB"          # B was never locked


def test_dev_codes_refused_where_not_allowed_and_unknown_members_refused_through_oidc(uow):
    with pytest.raises(SignInRefused):
        sign_in_with_code(uow, member_id="MA", code=dev_signin_code("MA"), now=ev.T0, allowed=False,
                          key=DEV_SIGNIN_KEY, policy=POLICY, endpoint="x")
    with pytest.raises(SignInRefused):
        sign_in_with_claims(uow, claims={"member_id": "NOBODY"}, member_claim="member_id", now=ev.T0, policy=POLICY,
                            endpoint="x")
    ok = sign_in_with_claims(uow, claims={"member_id": "ma"}, member_claim="member_id", now=ev.T0, policy=POLICY,
                             endpoint="x")
    assert (ok.principal.member_id, ok.principal.via) == ("MA", "oidc")


def test_patient_record_of_another_member_is_not_found(uow):
    with pytest.raises(NotFound):
        patient_record(uow, FakeDirectory(), A, "MB", "FHIR GET /fhir/Patient/{id}/$everything")
    record = patient_record(uow, FakeDirectory(), A, "MA", "FHIR")
    assert record.member.member_id == "MA" and [g.member_id for g in record.gaps] == ["MA"]
    assert uow.committed.audit[-1]["detail"].startswith("fhir everything")
