"""A little real data in each service before it is fuzzed, so generated requests also reach the
paths behind "no such task / member / contract": tasks in pod-east queues (outreach), rostered
members (gaps), a roster load (intake), member months and a claim (billing), a member's record and
conversation (portal).

``seed(service, app, client)`` returns path-parameter values that name the seeded rows (a name
starting with ``?`` is a query parameter); the fuzzer sends each generated case once as generated
and once with these values put in.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select


def seed(service: str, app, client, database_url: str) -> dict[str, list[str]]:
    if service == "outreach":
        return _outreach(app)
    if service == "gaps":
        return _gaps(database_url)
    if service == "intake":
        return _intake(client)
    if service == "billing":
        return _billing(database_url)
    if service == "notifications":
        return _notifications(client, database_url)
    if service == "portal":
        return _portal(database_url)
    return {"facility": ["MERCY"]}


def _outreach(app) -> dict[str, list[str]]:
    from services.outreach.adapters import tables
    from tests.integration.outreach.events import apply_events, discharge, gap_opened, roster

    svc = app.state.outreach
    members = [f"FZ-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    events = [roster(m) for m in members]
    events += [gap_opened(m, "CMS130") for m in members] + [discharge(members[0])]
    apply_events(svc.db, svc.settings.decision_context(), svc.staff, events)
    with svc.db.transaction() as s:
        ids = [str(t) for t in s.scalars(select(tables.tasks.c.task_id))]
    assert ids, "seeding created no outreach task"
    return {"task_id": ids, "queue": ["nurse:pod-east"]}


def _gaps(database_url: str) -> dict[str, list[str]]:
    """Two rostered members of pod-east, stored as the gaps worker stores their snapshots (roster
    loads are intake's; the gaps API has none)."""
    from services.gaps.adapters.database import open_database
    from services.gaps.settings import GapsSettings
    from tests.integration.gaps.wiring import worker_handler
    from tests.integration.outreach.events import roster

    members = [f"FZ-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    settings = GapsSettings(database_url=database_url, environment="test")
    db = open_database(settings, pool_size=1)
    try:
        with db.transaction() as session:
            worker_handler(settings)(session, [roster(m) for m in members])
    finally:
        db.dispose()
    return {"member_id": members}


def _intake(client) -> dict[str, list[str]]:
    """A roster load of two members through the API (its load id names a real load)."""
    members = [f"FZ-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    body = [{"member_id": m, "given_name": "Ada", "family_name": "Example", "birth_date": "1958-03-14", "sex": "F",
             "pcp_practice_id": "P001", "pod": "pod-east", "contract_id": "MMO-2026",
             "eligibility": [{"start": "2025-01-01"}]} for m in members]
    r = client.post("/roster/members", json=body, headers={"Authorization": "Bearer dev-admin"})
    assert r.status_code == 200, r.text
    return {"member_id": members, "load_id": [r.json()["load_id"]]}


def _billing(database_url: str) -> dict[str, list[str]]:
    from tests.integration.billing.billing_inputs import claim, roster
    from tests.integration.billing.worker_parts import Storage, Worker

    db = Storage(database_url, pool_size=1)
    try:
        Worker(db, estimate_interval_s=0).apply([
            roster("FZ-M1"), roster("FZ-M2", tier="low"),
            claim("FZ-M1", "FZ-C1", (("99213", date(2026, 3, 3), "75.00"),))])
    finally:
        db.dispose()
    return {"contract_id": ["MMO-2026", "GR-2026"], "period": ["2026-03", "2026-04"]}


def _notifications(client, database_url: str) -> dict[str, list[str]]:
    """A rostered member (readable at /fhir/Patient) and a webhook subscription of practice P001."""
    from services.notifications.adapters.database import migrate
    from services.notifications.adapters.intake_sql import SqlIntakeUnit
    from services.notifications.app import intake
    from services.notifications.routes import ROUTES
    from tests.integration.notifications.events import gap_opened, roster

    member = f"FZ-{uuid.uuid4().hex[:8]}"
    db = migrate(database_url)
    try:
        with db.transaction() as s:
            uow = SqlIntakeUnit(s)
            intake.apply_batch(uow, [roster(member), gap_opened(member)], ROUTES)
            uow.flush()
    finally:
        db.dispose()
    r = client.post("/subscriptions", headers={"Authorization": "Bearer dev-admin"},
                    json={"endpoint": "https://receiver.example.org/hooks", "topics": ["care-gap-opened"],
                          "practice_id": "P001"})
    assert r.status_code == 201, r.text
    return {"sub_id": [r.json()["id"]], "rid": [member]}


def _portal(database_url: str) -> dict[str, list[str]]:
    """One member's projection (roster, a hospital stay, open gaps, a care-team task with an
    appointment) and a conversation (a message and the care team's reply), applied through the
    worker's routes table as its consumer would."""
    from datetime import timedelta

    from services.portal.adapters.database import open_database
    from services.portal.adapters.unit_of_work import SqlUnitOfWork
    from services.portal.routes import ROUTES
    from shared.events import PortalMessageSentV1, utcnow
    from tests.unit.portal import events as ev

    member = f"FZ-{uuid.uuid4().hex[:8].upper()}"  # upper case, as the portal reads a token's member claim
    now = utcnow()
    message_id = uuid.uuid4()
    message = PortalMessageSentV1(
        **PortalMessageSentV1.envelope(occurred_at=now, recorded_at=now, source="portal", member_id=member,
                                       event_id=message_id),
        message_id=message_id, topic="care_question", subject="About my visit", body="When do I come in?",
        signed_in_via="oidc")
    events = [ev.roster(member, at=now), ev.alert(member, at=now - timedelta(days=5)),
              ev.discharge(member, at=now - timedelta(days=2)), ev.gap_opened(member, "CMS125", at=now),
              ev.gap_opened(member, "CMS130", at=now, due=now.date() + timedelta(days=30)),
              ev.task(member, at=now, status="scheduled", appointment=now.date() + timedelta(days=7)),
              message, ev.reply(member, message_id, at=now + timedelta(seconds=1))]
    db = open_database(database_url, pool_size=1)
    try:
        with db.transaction() as session:
            ROUTES.handler(SqlUnitOfWork.for_session)(session, events)
    finally:
        db.dispose()
    return {"patient_id": [member], "?patient": [member, f"Patient/{member}"],
            "resource_type": ["Encounter", "DetectedIssue", "Task"], "message_id": [str(message_id)]}
