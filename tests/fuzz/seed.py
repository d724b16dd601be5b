"""A little real data in each service before it is fuzzed, so generated requests also reach the
paths behind "no such task / member / contract": tasks in pod-east queues (outreach), rostered
members (gaps), member months and a claim (billing).

``seed(service, app, client)`` returns path-parameter values that name the seeded rows; the
fuzzer sends each generated case once as generated and once with these values put in.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select


def seed(service: str, app, client, database_url: str) -> dict[str, list[str]]:
    if service == "outreach":
        return _outreach(app)
    if service == "gaps":
        return _gaps(client)
    if service == "billing":
        return _billing(database_url)
    if service == "notifications":
        return _notifications(client, database_url)
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


def _gaps(client) -> dict[str, list[str]]:
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
