"""What one delivery sends, per channel, built from the notification's snapshot.

- webhook: the Standard Webhooks JSON body (signed at send time: the timestamp is the attempt's);
- fhir-rest-hook: the backport notification Bundle;
- davinci: the message Bundle to ``$process-message`` (always the full message: the IG's form);
- mllp: the HL7 v2 message as received or its configured subset.

Content levels for the JSON channels: ``empty`` (what happened, no ids of resources),
``id-only`` (the default: references to the focus and the patient, and the event number),
``full-resource`` (the resources and the event's details).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import davinci, fhir_resources, fhir_subscriptions, hl7_forward, webhooks
from . import topics as t
from .model import Notification, derived
from .subscription import Subscription


@dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str
    url: str
    msg_id: str  # the idempotency key: webhook-id, Bundle.id, MSH-10
    signed: bool = False


def webhook_data(sub: Subscription, n: Notification, number: int) -> dict[str, Any]:
    data: dict[str, Any] = {"event_id": str(n.event_id), "event_number": number, "subscription_id": sub.id,
                            "topic": n.topic}
    if sub.content == "empty":
        return data
    data.update({"occurred_at": n.occurred_at.isoformat(), "focus": f"{n.focus_type}/{n.focus_id}",
                 "patient": f"Patient/{n.patient_fhir_id}"})
    if sub.content == "full-resource":
        data["event"] = n.facts.get("event", {})
        resource, patient = fhir_resources.of_notification(n)
        if resource is not None:
            data["resource"] = resource
        if patient is not None and n.focus_type != "Patient":
            data["patient_resource"] = patient
    return data


def build(sub: Subscription, n: Notification, number: int, events_since: int, *, base: str, canonical_base: str,
          now: datetime) -> Payload:
    if sub.channel == t.WEBHOOK:
        body = webhooks.body(n.topic, n.occurred_at, webhook_data(sub, n, number))
        return Payload(body, "application/json", sub.endpoint, str(n.event_id), signed=True)
    if sub.channel == t.FHIR:
        bundle = fhir_subscriptions.notification_bundle(
            sub, kind="event-notification", base=base, canonical_base=canonical_base,
            events_since=max(events_since, number), events=[(number, n)], bundle_id=str(n.event_id), now=now,
            status="active")
        return Payload(_json(bundle), fhir_subscriptions.FHIR_JSON, sub.endpoint, str(n.event_id))
    if sub.channel == t.DAVINCI:
        bundle = davinci.message_bundle(n, destination=sub.endpoint, source_endpoint=base, now=now)
        return Payload(_json(bundle), fhir_subscriptions.FHIR_JSON, davinci.process_message_url(sub.endpoint),
                       str(n.event_id))
    if sub.channel == t.MLLP:
        if not n.hl7:
            raise ValueError("no HL7 message to forward")
        opts = sub.hl7
        message, control_id = hl7_forward.prepare(
            n.hl7, segments=opts.segments if opts else None,
            receiving_application=opts.receiving_application if opts else None,
            receiving_facility=opts.receiving_facility if opts else None)
        return Payload(message.encode("utf-8"), "application/hl7-v2", sub.endpoint, control_id)
    raise ValueError(f"unknown channel {sub.channel}")


def build_fhir_batch(sub: Subscription, events: list[tuple[int, Notification]], events_since: int, *, base: str,
                     canonical_base: str, now: datetime) -> Payload:
    """One FHIR notification Bundle carrying several events (up to the subscription's max count):
    the backlog form of the backport IG, each event with its own event number. Its Bundle.id is
    derived from the events it carries (the same batch resent has the same id; a receiver dedupes
    each event by its number either way)."""
    if len(events) == 1:
        return build(sub, events[0][1], events[0][0], events_since, base=base, canonical_base=canonical_base, now=now)
    bundle_id = str(derived("batch", *(str(n.event_id) for _number, n in events)))
    bundle = fhir_subscriptions.notification_bundle(
        sub, kind="event-notification", base=base, canonical_base=canonical_base,
        events_since=max(events_since, max(number for number, _ in events)), events=events, bundle_id=bundle_id,
        now=now, status="active")
    return Payload(_json(bundle), fhir_subscriptions.FHIR_JSON, sub.endpoint, bundle_id)


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
