"""FHIR max count: a backlog goes out in Bundles of up to max count events (each with its event
number, the focus of each), validated with fhir.resources; other channels stay one event per
request; one event alone keeps its own Bundle id."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from services.notifications.app import intake
from services.notifications.app.dispatch import batches
from services.notifications.app.ports import Leased
from services.notifications.domain import payloads
from services.notifications.domain.subscription import Subscription
from services.notifications.routes import ROUTES
from tests.integration.notifications import events as ev
from tests.integration.notifications.receivers import validate_fhir

from .fakes import Unit

NOW = datetime(2026, 3, 2, 19, 5, tzinfo=timezone.utc)
BASE = "https://ccp.example.org/fhir"


def gap_notes(n: int):
    sub = Subscription(id="w", channel="webhook", topics=("care-gap-opened",), endpoint="https://x.example.org")
    uow = Unit([sub])
    members = [ev.member() for _ in range(n)]
    intake.apply_batch(uow, [ev.roster(m) for m in members] + [ev.gap_opened(m) for m in members], ROUTES)
    return [note for _, _, note in uow.outbox.deliveries]


def leased(sub: Subscription, notes) -> list[Leased]:
    return [Leased(delivery_id=i, subscription=sub, notification=n, event_number=i, attempts=0, created_at=NOW,
                   failures=0) for i, n in enumerate(notes, start=1)]


def fhir_sub(max_count: int, content: str = "full-resource") -> Subscription:
    return Subscription(id=str(uuid.uuid4()), channel="fhir-rest-hook", topics=("care-gap-opened",),
                        endpoint="https://x.example.org/fhir", content=content, max_count=max_count)


def test_a_fhir_backlog_is_cut_into_bundles_of_max_count_and_other_channels_go_one_by_one():
    notes = gap_notes(12)
    fhir, hook = fhir_sub(5), Subscription(id="h", channel="webhook", topics=("care-gap-opened",),
                                           endpoint="https://y.example.org", max_count=5)
    mixed = leased(fhir, notes[:7]) + leased(hook, notes[7:9]) + leased(fhir, notes[9:])
    got = batches(mixed)
    assert [len(b) for b in got if b[0].subscription is fhir] == [5, 5]
    assert [len(b) for b in got if b[0].subscription is hook] == [1, 1]
    assert [d.event_number for b in got if b[0].subscription is fhir for d in b] == [1, 2, 3, 4, 5, 6, 7, 1, 2, 3]
    assert [len(b) for b in batches(leased(fhir_sub(1), notes))] == [1] * 12


def test_a_batch_bundle_carries_every_event_with_its_number_and_validates():
    notes = gap_notes(4)
    for content in ("empty", "id-only", "full-resource"):
        sub = fhir_sub(10, content)
        events = [(n, note) for n, note in enumerate(notes, start=21)]
        p = payloads.build_fhir_batch(sub, events, 24, base=BASE, canonical_base=BASE, now=NOW)
        doc = json.loads(p.body)
        validate_fhir(doc)
        status = doc["entry"][0]["resource"]["parameter"]
        numbers = [next(x["valueString"] for x in e["part"] if x["name"] == "event-number")
                   for e in status if e["name"] == "notification-event"]
        assert numbers == ["21", "22", "23", "24"]
        assert doc["id"] == p.msg_id != str(notes[0].event_id)
        again = payloads.build_fhir_batch(sub, events, 24, base=BASE, canonical_base=BASE, now=NOW)
        assert again.msg_id == p.msg_id, "the same batch resent: the same Bundle id"
        if content != "empty":
            focus = {e["fullUrl"] for e in doc["entry"][1:]}
            assert all(f"{BASE}/DetectedIssue/{note.focus_id}" in focus for note in notes)
    single = payloads.build_fhir_batch(fhir_sub(10), [(3, notes[0])], 3, base=BASE, canonical_base=BASE, now=NOW)
    assert json.loads(single.body)["id"] == str(notes[0].event_id), "one event: its own id, as without batching"


def test_a_notification_s_resources_are_built_once_for_all_its_subscriptions(monkeypatch):
    from services.notifications.domain import fhir_resources

    calls = []
    real = fhir_resources.focus_resource
    monkeypatch.setattr(fhir_resources, "focus_resource", lambda *a, **k: calls.append(a) or real(*a, **k))
    note = gap_notes(1)[0]
    subs = [fhir_sub(1), fhir_sub(1), Subscription(id="w1", channel="webhook", topics=("care-gap-opened",),
                                                   endpoint="https://z.example.org", content="full-resource")]
    bodies = [json.loads(payloads.build(s, note, 1, 1, base=BASE, canonical_base=BASE, now=NOW).body) for s in subs]
    assert len(calls) == 1, "built once, shared by the three payloads"
    assert bodies[0]["entry"][1]["resource"] == bodies[2]["data"]["resource"]
    validate_fhir(bodies[0])
