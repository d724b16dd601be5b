"""Every payload form validates against its standard's models, and the dispatcher's decisions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from fhir.resources.R4B.subscription import Subscription as FhirSubscription

from services.notifications.app import intake
from services.notifications.app.dispatch import decide
from services.notifications.app.ports import Leased
from services.notifications.domain import davinci, fhir_subscriptions as fs, payloads
from services.notifications.domain.filters import Filters
from services.notifications.domain.retry import Outcome, RetryPolicy
from services.notifications.domain.subscription import Subscription
from services.notifications.routes import ROUTES
from tests.integration.notifications import events as ev
from tests.integration.notifications.receivers import validate_fhir

from .fakes import Unit

NOW = datetime(2026, 3, 2, 19, 5, tzinfo=timezone.utc)
BASE, CANON = "https://ccp.example.org/fhir", "https://ccp.example.org/fhir"


def notifications():
    subs = [Subscription(id=str(uuid.uuid4()), channel="webhook", topics=("encounter-start", "encounter-end",
                                                                           "care-gap-opened", "task-overdue"),
                         endpoint="https://x.example.org")]
    uow = Unit(subs)
    m = ev.member()
    alert = ev.admit(m)
    intake.apply_batch(uow, [ev.roster(m), alert, ev.discharge(alert), ev.gap_opened(m)], ROUTES)
    return [n for _, _, n in uow.outbox.deliveries]


def test_fhir_notification_bundles_validate_for_every_content_level():
    notes = notifications()
    for content in ("empty", "id-only", "full-resource"):
        for n in notes:
            sub = Subscription(id="s1", channel="fhir-rest-hook", topics=(n.topic,), endpoint="https://x.example.org",
                               content=content)
            p = payloads.build(sub, n, 7, 9, base=BASE, canonical_base=CANON, now=NOW)
            import json

            doc = json.loads(p.body)
            validate_fhir(doc)
            assert doc["id"] == str(n.event_id) and doc["type"] == "history"
            status = {x["name"]: x for x in doc["entry"][0]["resource"]["parameter"]}
            assert status["events-since-subscription-start"]["valueString"] == "9"
            if content == "empty":
                assert len(doc["entry"]) == 1 and "topic" not in status
            elif content == "full-resource":
                assert doc["entry"][1]["resource"]["resourceType"] == n.focus_type


def test_da_vinci_message_bundles_validate_and_reference_only_inside():
    for n in notifications():
        if n.topic not in ("encounter-start", "encounter-end"):
            continue
        doc = davinci.message_bundle(n, destination="https://pcp.example.org/fhir", source_endpoint=BASE, now=NOW)
        validate_fhir(doc)
        inside = {e["fullUrl"] for e in doc["entry"]}
        import json

        refs = [v for v in _values(doc, "reference")]
        assert refs and all(r in inside for r in refs), json.dumps(doc)[:500]
    assert davinci.process_message_url("https://pcp.example.org/fhir/") == "https://pcp.example.org/fhir/$process-message"


def _values(doc, key):
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _values(v, key)
    elif isinstance(doc, list):
        for v in doc:
            yield from _values(v, key)


def test_the_subscription_resource_round_trips_and_validates():
    sub = Subscription(id="s1", channel="fhir-rest-hook", topics=("care-gap-opened",), endpoint="https://x.example.org",
                       content="full-resource", filters=Filters(practices=frozenset({"P001"})), heartbeat_period_s=60,
                       timeout_s=5, max_count=3, status="active", updated_at=NOW)
    doc = fs.subscription_resource(sub, BASE, CANON, ["Authorization: ***"])
    FhirSubscription.model_validate(doc)
    parsed = fs.parse_subscription(doc, CANON)
    assert parsed["topics"] == ("care-gap-opened",) and parsed["filters"] == sub.filters
    assert (parsed["heartbeat_period_s"], parsed["timeout_s"], parsed["max_count"]) == (60, 5.0, 3)
    validate_fhir(fs.capability_statement(BASE, CANON, NOW))


def leased(attempts=0, failures=0, created=NOW, policy=RetryPolicy(max_attempts=5, max_age_s=3600)):
    sub = Subscription(id="s1", channel="webhook", topics=("care-gap-opened",), endpoint="https://x", retry=policy)
    return Leased(delivery_id=1, subscription=sub, notification=notifications()[0], event_number=4,
                  attempts=attempts, created_at=created, failures=failures)


def test_decisions_deliver_retry_give_up_and_stop_on_gone():
    ok = decide(leased(failures=3), Outcome.http(204, 0.01), NOW, NOW)
    assert ok.state == "delivered" and ok.failures == 0
    retry = decide(leased(attempts=1, failures=1), Outcome.http(503, 0.01, "30"), NOW, NOW)
    assert retry.state == "pending" and retry.failures == 2 and retry.due_at >= NOW + timedelta(seconds=30)
    assert retry.subscription_error is None
    dead = decide(leased(attempts=4), Outcome.failed("timeout", 10, "no answer within 10 s"), NOW, NOW)
    assert dead.state == "dead" and "event 4" in dead.subscription_error and "gave up after 5 attempts" in \
        dead.subscription_error
    old = decide(leased(created=NOW - timedelta(hours=2)), Outcome.http(500, 0.1), NOW, NOW)
    assert old.state == "dead" and "max age" in old.subscription_error
    gone = decide(leased(), Outcome.http(410, 0.1), NOW, NOW)
    assert gone.state == "pending" and "410" in gone.subscription_error
