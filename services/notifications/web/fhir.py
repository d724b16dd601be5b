"""The FHIR endpoint (``/fhir``): R4 Subscriptions with the R5 Backport IG 1.1.0 profile, the
``$status`` and ``$events`` operations, and reads of Encounter, Patient, DetectedIssue and Task
scoped to the caller's rights (admins/ops: every member; others: their practices', groups' or
pods' members). Errors are OperationOutcomes; every member read is audited (``reads.audit_read``).
Mounted by ``api.py``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ..app.subscriptions import Conflict, Invalid, NotAllowed, NotFound, Subscriptions
from ..domain import fhir_subscriptions as fs
from ..domain import topics as t
from ..domain.access import Actor

FHIR_JSON = "application/fhir+json"


def outcome(status: int, code: str, text: str) -> JSONResponse:
    return JSONResponse({"resourceType": "OperationOutcome",
                         "issue": [{"severity": "error", "code": code, "diagnostics": text}]},
                        status_code=status, media_type=FHIR_JSON)


def fhir(doc: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(doc, status_code=status, media_type=FHIR_JSON, headers=headers)


def build_fhir_router(*, subs: Subscriptions, store, reads, actor_dep: Callable, settings) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["fhir"])
    base = settings.fhir_base()
    canonical_base = settings.fhir_canonical_base

    def now() -> datetime:
        return datetime.now(timezone.utc)

    def resource(sub) -> dict[str, Any]:
        return fs.subscription_resource(sub, base, canonical_base, store.masked_headers(sub.id))

    def guard(fn):
        try:
            return fn()
        except NotFound:
            return outcome(404, "not-found", "no such Subscription")
        except NotAllowed as exc:
            return outcome(403, "forbidden", str(exc) or "not allowed")
        except Conflict:
            return outcome(412, "conflict", "the Subscription changed since the version given in If-Match")
        except (Invalid, fs.SubscriptionInvalid) as exc:
            return outcome(400, "invalid", str(exc))

    def audit(actor: Actor, member_ids, endpoint: str) -> None:
        reads.audit_read(user_id=actor.id, role=actor.role, member_ids=member_ids, endpoint=endpoint)

    @router.get("/metadata", summary="CapabilityStatement (the topics: SubscriptionTopic canonicals)")
    def metadata():
        return fhir(fs.capability_statement(base, canonical_base, now()))

    async def body_of(request: Request):
        try:
            return await request.json()
        except ValueError:
            return None

    @router.post("/Subscription", summary="Create a Subscription (ops/admin); status requested until the handshake")
    async def create(request: Request, actor: Actor = Depends(actor_dep)):
        body = await body_of(request)

        def run():
            fields = fs.parse_subscription(body, canonical_base)
            headers = fields.pop("headers")
            spec = {**fields, "channel": t.FHIR, "filters": fields["filters"].as_dict(),
                    "timeout_s": fields["timeout_s"] or 10.0, "practice_id": _owner(body, "practice"),
                    "hospitalist_group": _owner(body, "hospitalist-group")}
            sub, _ = subs.create(actor, spec, now(), headers=headers)
            return fhir(resource(sub), 201, {"Location": f"{base}/Subscription/{sub.id}/_history/{sub.version}"})
        return guard(run)

    @router.get("/Subscription", summary="Search Subscriptions (those you may see)")
    def search(actor: Actor = Depends(actor_dep)):
        found = subs.list(actor)
        return fhir({"resourceType": "Bundle", "type": "searchset", "total": len(found),
                     "entry": [{"fullUrl": f"{base}/Subscription/{s.id}", "resource": resource(s),
                                "search": {"mode": "match"}} for s in found]})

    @router.get("/Subscription/$status", summary="$status of several subscriptions",
                operation_id="subscriptions_status_get")
    @router.post("/Subscription/$status", summary="$status of several subscriptions",
                 operation_id="subscriptions_status_post")
    def status_many(request: Request, actor: Actor = Depends(actor_dep)):
        ids = request.query_params.getlist("id")
        statuses = set(request.query_params.getlist("status"))
        found = [s for s in subs.list(actor) if (not ids or s.id in ids) and (not statuses or s.status in statuses)]
        return fhir(fs.status_bundle([(s, s.events_count) for s in found], base=base, canonical_base=canonical_base,
                                     now=now()))

    @router.get("/Subscription/{sub_id}", summary="Read a Subscription")
    def read(sub_id: str, actor: Actor = Depends(actor_dep)):
        return guard(lambda: fhir(resource(subs.visible(actor, sub_id))))

    @router.put("/Subscription/{sub_id}", summary="Update a Subscription (ops/admin); status requested re-handshakes")
    async def put(sub_id: str, request: Request, actor: Actor = Depends(actor_dep)):
        body = await body_of(request)

        def run():
            current = subs.visible(actor, sub_id)
            expected = _if_match(request.headers.get("if-match")) or current.version
            fields = fs.parse_subscription(body, canonical_base)
            headers = fields.pop("headers")
            changes = {"topics": fields["topics"], "filters": fields["filters"].as_dict(),
                       "endpoint": fields["endpoint"], "content": fields["content"], "name": fields["name"],
                       "heartbeat_period_s": fields["heartbeat_period_s"], "max_count": fields["max_count"],
                       "end": fields["end"], "status": fields["status"]}
            if fields["timeout_s"]:
                changes["timeout_s"] = fields["timeout_s"]
            sub = subs.update(actor, sub_id, changes, expected, now(), headers=headers)
            return fhir(resource(sub))
        return guard(run)

    @router.delete("/Subscription/{sub_id}", summary="Delete a Subscription (ops/admin)")
    def remove(sub_id: str, actor: Actor = Depends(actor_dep)):
        def run():
            subs.delete(actor, sub_id)
            return Response(status_code=204)
        return guard(run)

    # GET and POST (FHIR operations take both), each with its own operationId in the OpenAPI document
    @router.get("/Subscription/{sub_id}/$status", summary="$status of one subscription",
                operation_id="subscription_status_get")
    @router.post("/Subscription/{sub_id}/$status", summary="$status of one subscription",
                 operation_id="subscription_status_post")
    def status_one(sub_id: str, actor: Actor = Depends(actor_dep)):
        def run():
            sub = subs.visible(actor, sub_id)
            return fhir(fs.status_bundle([(sub, sub.events_count)], base=base, canonical_base=canonical_base,
                                         now=now()))
        return guard(run)

    @router.get("/Subscription/{sub_id}/$events", operation_id="subscription_events_get",
                summary="$events: notifications by event number (eventsSinceNumber, eventsUntilNumber, content)")
    @router.post("/Subscription/{sub_id}/$events", operation_id="subscription_events_post",
                 summary="$events: notifications by event number (eventsSinceNumber, eventsUntilNumber, content)")
    def events(sub_id: str, request: Request, actor: Actor = Depends(actor_dep)):
        def run():
            q = request.query_params
            since, until = _int(q.get("eventsSinceNumber")), _int(q.get("eventsUntilNumber"))
            content = q.get("content")
            if content is not None and content not in ("empty", "id-only", "full-resource"):
                raise Invalid("content must be empty, id-only or full-resource")
            sub, found = subs.events(actor, sub_id, since, until)
            if not actor.sees_everything:
                found = [(n, e) for n, e in found if actor.sees_member(e.audience)]
            audit(actor, [e.member_id for _, e in found], "/fhir/Subscription/{id}/$events")
            return fhir(fs.notification_bundle(sub, kind="query-event", base=base, canonical_base=canonical_base,
                                               events_since=sub.events_count, events=found, now=now(),
                                               content=content or sub.content))
        return guard(run)

    def read_member_resource(kind: str, fetch, actor: Actor, rid: str):
        found = fetch(rid)
        if found is None or not actor.sees_member(found[1]):
            return outcome(404, "not-found", f"no such {kind} in your scope")
        audit(actor, [found[1].member_id], f"/fhir/{kind}/{{id}}")
        return fhir(found[0])

    @router.get("/Encounter/{rid}", summary="Read an Encounter (scoped, audited)")
    def encounter(rid: str, actor: Actor = Depends(actor_dep)):
        return read_member_resource("Encounter", reads.encounter, actor, rid)

    @router.get("/Encounter", summary="Search a patient's Encounters (?patient=)")
    def encounters(patient: str, actor: Actor = Depends(actor_dep)):
        pid = patient.split("/", 1)[1] if patient.startswith("Patient/") else patient
        found = reads.encounters_of(pid)
        items = [] if found is None or not actor.sees_member(found[1]) else found[0]
        if items:
            audit(actor, [found[1].member_id], "/fhir/Encounter?patient")
        return fhir({"resourceType": "Bundle", "type": "searchset", "total": len(items),
                     "entry": [{"fullUrl": f"{base}/Encounter/{e['id']}", "resource": e, "search": {"mode": "match"}}
                               for e in items]})

    @router.get("/Patient/{rid}", summary="Read a Patient (scoped, audited)")
    def patient(rid: str, actor: Actor = Depends(actor_dep)):
        return read_member_resource("Patient", reads.patient, actor, rid)

    @router.get("/DetectedIssue/{rid}", summary="Read a care gap as a DEQM DetectedIssue (scoped, audited)")
    def detected_issue(rid: str, actor: Actor = Depends(actor_dep)):
        return read_member_resource("DetectedIssue", reads.detected_issue, actor, rid)

    @router.get("/Task/{rid}", summary="Read an outreach Task (scoped, audited)")
    def task(rid: str, actor: Actor = Depends(actor_dep)):
        today = now().astimezone(settings.tz()).date()
        return read_member_resource("Task", lambda x: reads.task(x, today), actor, rid)

    return router


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid("event numbers are whole numbers") from None


def _if_match(value: str | None) -> int | None:
    if not value:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        raise Invalid("If-Match must carry the version, e.g. W/\"3\"") from None


OWNER_EXT = "urn:ccp:subscription-owner-"


def _owner(body: dict, kind: str) -> str | None:
    """A Subscription's owner (practice or hospitalist group), as an extension on the resource."""
    for e in body.get("extension", []) if isinstance(body, dict) else []:
        if isinstance(e, dict) and e.get("url") == OWNER_EXT + kind and isinstance(e.get("valueString"), str):
            return e["valueString"]
    return None
