"""FHIR R4 topic-based Subscriptions, Subscriptions R5 Backport IG 1.1.0.

- ``subscription_resource`` / ``parse_subscription``: the R4 ``Subscription`` with the backport
  profile (``criteria`` = the topic canonical, ``filter-criteria`` extensions on ``_criteria``,
  ``rest-hook`` channel, payload content code, heartbeat period, timeout, max count, headers).
- ``notification_bundle``: a ``history`` Bundle whose first entry is the ``SubscriptionStatus``
  Parameters (``events-since-subscription-start`` and per event ``notification-event`` with its
  ``event-number``), then per content: ``empty`` (status only), ``id-only`` (the focus as
  ``fullUrl`` + ``request``), ``full-resource`` (the focus resource and the Patient).
  Handshakes and heartbeats carry the status only; ``$status`` answers a searchset Bundle of
  status Parameters; ``$events`` a ``query-event`` history Bundle.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from . import fhir_resources as res
from . import topics as t
from .filters import Filters, FilterError, parse_criteria
from .model import Notification

IG = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
PROFILE_SUBSCRIPTION = IG + "backport-subscription"
PROFILE_NOTIFICATION = IG + "backport-subscription-notification-r4"
PROFILE_STATUS = IG + "backport-subscription-status-r4"
EXT_FILTER = IG + "backport-filter-criteria"
EXT_CONTENT = IG + "backport-payload-content"
EXT_HEARTBEAT = IG + "backport-heartbeat-period"
EXT_TIMEOUT = IG + "backport-timeout"
EXT_MAX_COUNT = IG + "backport-max-count"
EXT_CHANNEL_TYPE = IG + "backport-channel-type"
EXT_TOPIC_CANONICAL = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical"
FHIR_JSON = "application/fhir+json"
MAX_HEADERS = 10


class SubscriptionInvalid(ValueError):
    """The Subscription cannot be honoured (the message says what; answered 400/422 with an OperationOutcome)."""


# ---------------------------------------------------------------------- the Subscription resource

def subscription_resource(sub, base: str, canonical_base: str, masked_headers: list[str] | None = None
                          ) -> dict[str, Any]:
    focus = t.TOPICS[sub.topic].focus
    ext = []
    if sub.heartbeat_period_s:
        ext.append({"url": EXT_HEARTBEAT, "valueUnsignedInt": int(sub.heartbeat_period_s)})
    ext.append({"url": EXT_TIMEOUT, "valueUnsignedInt": max(1, int(round(sub.timeout_s)))})
    ext.append({"url": EXT_MAX_COUNT, "valuePositiveInt": int(sub.max_count)})
    criteria_ext = [{"url": EXT_FILTER, "valueString": c} for c in sub.filters.criteria(focus)]
    return res.prune({
        "resourceType": "Subscription", "id": sub.id, "meta": {"profile": [PROFILE_SUBSCRIPTION],
                                                                "versionId": str(sub.version),
                                                                "lastUpdated": _iso(sub.updated_at)},
        "status": sub.status, "end": _iso(sub.end), "reason": sub.name or f"{sub.topic} notifications",
        "criteria": t.canonical(sub.topic, canonical_base),
        "_criteria": {"extension": criteria_ext} if criteria_ext else None,
        "error": sub.status_reason if sub.status == "error" else None,
        "channel": {"extension": ext, "type": "rest-hook", "endpoint": sub.endpoint,
                    "payload": FHIR_JSON, "_payload": {"extension": [{"url": EXT_CONTENT, "valueCode": sub.content}]},
                    "header": masked_headers or None},
    })


def parse_subscription(body: Any, canonical_base: str) -> dict[str, Any]:
    """The fields of a new or updated subscription, from a backport Subscription resource."""
    if not isinstance(body, dict) or body.get("resourceType") != "Subscription":
        raise SubscriptionInvalid("the body must be a FHIR Subscription resource")
    criteria = body.get("criteria")
    if not isinstance(criteria, str) or not criteria:
        raise SubscriptionInvalid("Subscription.criteria must be the canonical URL of a SubscriptionTopic")
    topic = t.topic_of_canonical(criteria, canonical_base)
    if topic is None or t.FHIR not in t.TOPICS[topic].channels:
        raise SubscriptionInvalid("Subscription.criteria names no topic this server supports "
                                  "(see CapabilityStatement.rest.resource.where(type='Subscription'))")
    filters_text = [e.get("valueString") for e in (body.get("_criteria") or {}).get("extension", [])
                    if e.get("url") == EXT_FILTER]
    try:
        filters = parse_criteria(filters_text, t.TOPICS[topic].focus)
    except FilterError as exc:
        raise SubscriptionInvalid(f"filter-criteria: {exc}") from None
    channel = body.get("channel")
    if not isinstance(channel, dict):
        raise SubscriptionInvalid("Subscription.channel is required")
    ctype = channel.get("type")
    ext_type = _ext(channel, EXT_CHANNEL_TYPE, "valueCoding")
    if ctype != "rest-hook" or ext_type:
        raise SubscriptionInvalid("only the rest-hook channel is supported")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise SubscriptionInvalid("Subscription.channel.endpoint is required for rest-hook")
    payload = channel.get("payload") or FHIR_JSON
    mime = payload.split(";", 1)[0].strip().lower()
    if mime not in (FHIR_JSON, "application/json"):
        raise SubscriptionInvalid("Subscription.channel.payload must be application/fhir+json")
    content = _ext(channel.get("_payload") or {}, EXT_CONTENT, "valueCode") or "id-only"
    if content not in ("empty", "id-only", "full-resource"):
        raise SubscriptionInvalid("payload content must be empty, id-only or full-resource")
    heartbeat = _ext(channel, EXT_HEARTBEAT, "valueUnsignedInt")
    timeout = _ext(channel, EXT_TIMEOUT, "valueUnsignedInt")
    max_count = _ext(channel, EXT_MAX_COUNT, "valuePositiveInt")
    for name, v, lo in (("heartbeat-period", heartbeat, 1), ("timeout", timeout, 1), ("max-count", max_count, 1)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < lo):
            raise SubscriptionInvalid(f"{name} must be a whole number of at least {lo}")
    if timeout is not None and timeout > 120:
        raise SubscriptionInvalid("timeout may be at most 120 seconds")
    headers = channel.get("header") or []
    if not isinstance(headers, list) or len(headers) > MAX_HEADERS or not all(
            isinstance(h, str) and ":" in h and h.split(":", 1)[0].strip() for h in headers):
        raise SubscriptionInvalid(f"channel.header: at most {MAX_HEADERS} strings 'Name: value'")
    status = body.get("status", "requested")
    if status not in ("requested", "active", "off"):
        raise SubscriptionInvalid("a client may set status requested (or active) or off")
    end = body.get("end")
    try:
        end_dt = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else None
    except (AttributeError, ValueError):
        raise SubscriptionInvalid("Subscription.end must be an instant") from None
    if end_dt is not None and end_dt.tzinfo is None:
        raise SubscriptionInvalid("Subscription.end needs a time zone")
    return {"topics": (topic,), "filters": filters, "endpoint": endpoint, "content": content,
            "heartbeat_period_s": heartbeat, "timeout_s": float(timeout) if timeout else None,
            "max_count": max_count or 1, "headers": [h.strip() for h in headers],
            "status": "off" if status == "off" else "requested", "end": end_dt,
            "name": str(body.get("reason") or "")[:200]}


def _ext(element: dict, url: str, key: str):
    for e in element.get("extension", []) or []:
        if isinstance(e, dict) and e.get("url") == url:
            return e.get(key)
    return None


# ---------------------------------------------------------------------- notifications

def status_parameters(sub, *, kind: str, base: str, canonical_base: str, events_since: int,
                      events: list[tuple[int, Notification]] = (), status: str | None = None,
                      error: str | None = None) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{sub.id}"}}]
    if sub.content != "empty":
        params.append({"name": "topic", "valueCanonical": t.canonical(sub.topic, canonical_base)})
    params += [{"name": "status", "valueCode": status or sub.status}, {"name": "type", "valueCode": kind},
               {"name": "events-since-subscription-start", "valueString": str(events_since)}]
    for number, n in events:
        parts: list[dict[str, Any]] = [{"name": "event-number", "valueString": str(number)},
                                       {"name": "timestamp", "valueInstant": n.occurred_at.isoformat()}]
        if sub.content != "empty":
            parts.append({"name": "focus", "valueReference": {"reference": f"{base}/{n.focus_type}/{n.focus_id}"}})
            if n.focus_type != "Patient":
                parts.append({"name": "additional-context",
                              "valueReference": {"reference": f"{base}/Patient/{n.patient_fhir_id}"}})
        params.append({"name": "notification-event", "part": parts})
    if error:
        params.append({"name": "error", "valueCodeableConcept": {"text": error[:500]}})
    return {"resourceType": "Parameters", "id": str(uuid.uuid4()), "meta": {"profile": [PROFILE_STATUS]},
            "parameter": params}


def notification_bundle(sub, *, kind: str, base: str, canonical_base: str, events_since: int,
                        events: list[tuple[int, Notification]] = (), bundle_id: str | None = None,
                        now: datetime, status: str | None = None, error: str | None = None,
                        content: str | None = None) -> dict[str, Any]:
    """A backport notification Bundle (history). ``bundle_id``: the notification id for an
    event notification of one event, so a redelivery carries the same Bundle.id."""
    content = content or sub.content
    view = _with_content(sub, content)
    status_res = status_parameters(view, kind=kind, base=base, canonical_base=canonical_base,
                                   events_since=events_since, events=events, status=status, error=error)
    if bundle_id:
        status_res["id"] = str(uuid.uuid5(uuid.UUID(bundle_id), "status")) if _is_uuid(bundle_id) else status_res["id"]
    entries = [{"fullUrl": f"urn:uuid:{status_res['id']}", "resource": status_res,
                "request": {"method": "GET", "url": f"{base}/Subscription/{sub.id}/$status"},
                "response": {"status": "200"}}]
    if content != "empty":
        seen: set[str] = set()
        for _number, n in events:
            url = f"{base}/{n.focus_type}/{n.focus_id}"
            if url in seen:
                continue
            seen.add(url)
            entry: dict[str, Any] = {"fullUrl": url, "request": {"method": "PUT", "url": f"{n.focus_type}/{n.focus_id}"},
                                     "response": {"status": "200"}}
            if content == "full-resource":
                resource, patient = res.of_notification(n)
                if resource is not None:
                    entry["resource"] = resource
                patient_url = f"{base}/Patient/{n.patient_fhir_id}"
                if n.focus_type != "Patient" and patient_url not in seen and patient is not None:
                    seen.add(patient_url)
                    entries.append(entry)
                    entry = {"fullUrl": patient_url, "resource": patient,
                             "request": {"method": "PUT", "url": f"Patient/{n.patient_fhir_id}"},
                             "response": {"status": "200"}}
            entries.append(entry)
    return {"resourceType": "Bundle", "id": bundle_id or str(uuid.uuid4()), "meta": {"profile": [PROFILE_NOTIFICATION]},
            "type": "history", "timestamp": now.isoformat(), "entry": entries}


def status_bundle(subs_and_counts: list[tuple[Any, int]], *, base: str, canonical_base: str, now: datetime
                  ) -> dict[str, Any]:
    """``$status``: a searchset Bundle with one SubscriptionStatus per subscription."""
    entries = []
    for sub, count in subs_and_counts:
        p = status_parameters(sub, kind="query-status", base=base, canonical_base=canonical_base,
                              events_since=count, error=sub.status_reason if sub.status == "error" else None)
        entries.append({"fullUrl": f"urn:uuid:{p['id']}", "resource": p, "search": {"mode": "match"}})
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "total": len(entries),
            "timestamp": now.isoformat(), "entry": entries}


def _with_content(sub, content: str):
    from dataclasses import replace

    return sub if sub.content == content else replace(sub, content=content)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def capability_statement(base: str, canonical_base: str, now: datetime, software: str = "CCP notifications"
                         ) -> dict[str, Any]:
    topics = [{"url": EXT_TOPIC_CANONICAL, "valueCanonical": t.canonical(code, canonical_base)}
              for code, d in t.TOPICS.items() if t.FHIR in d.channels]
    read = [{"code": "read"}]
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": now.isoformat(), "kind": "instance",
        "software": {"name": software}, "implementation": {"description": "Notifications", "url": base},
        "fhirVersion": "4.0.1", "format": ["json"],
        "instantiates": ["http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4"],
        "rest": [{"mode": "server", "resource": [
            {"type": "Subscription", "extension": topics, "supportedProfile": [PROFILE_SUBSCRIPTION],
             "interaction": [{"code": "read"}, {"code": "create"}, {"code": "update"}, {"code": "delete"},
                             {"code": "search-type"}],
             "operation": [{"name": "status", "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status"},
                           {"name": "events", "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events"}]},
            {"type": "Encounter", "interaction": read + [{"code": "search-type"}],
             "searchParam": [{"name": "patient", "type": "reference"}]},
            {"type": "Patient", "interaction": read},
            {"type": "DetectedIssue", "interaction": read},
            {"type": "Task", "interaction": read},
        ]}],
    }
