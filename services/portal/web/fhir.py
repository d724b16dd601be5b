"""The FHIR R4 patient-access API: the signed-in member's own record, read-only.

``GET /fhir/metadata`` (CapabilityStatement), ``GET /fhir/Patient/{id}``,
``GET /fhir/Patient/{id}/$everything`` (a searchset Bundle: the Patient, Encounters,
DetectedIssues — the care gaps — and Tasks), ``GET /fhir/{Encounter|DetectedIssue|Task}?patient={id}``.

Who: a member's browser session (the portal's cookie), or ``Authorization: Bearer <access
token>`` issued by the configured OpenID provider for this API's audience, with the member id
in the ``OIDC_MEMBER_CLAIM`` claim. Another patient's id answers 404 on a read and 403 on a
search, whether it exists or not. Every answer is audited.

The OpenAPI document says what each operation answers: ``application/fhir+json``, the resource
or Bundle on 200, an OperationOutcome on 400 (search without a patient), 401 (no session, a
token that does not check out; with its ``WWW-Authenticate`` challenge), 403 (another patient's
search, a token naming no member) and 404 (not this member's record, a type not served).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import metrics
from ..app.patient_access import patient_record
from ..app.ports import IdentityProviderFailure
from ..domain.access import Principal
from ..domain.errors import NotFound
from . import fhir_resources as fr
from .context import endpoint_of, portal_of, signed_in

FHIR_JSON = "application/fhir+json"


class FhirJSONResponse(JSONResponse):
    media_type = FHIR_JSON


def _resource_schema(*types: str) -> dict[str, Any]:
    return {"type": "object", "required": ["resourceType"],
            "properties": {"resourceType": {"type": "string", "enum": list(types)}}}


def _documented(resource: str, *refusals: int) -> dict[str, Any]:
    """The route's ``response_class`` and ``responses`` for the OpenAPI document."""
    outcome = {FHIR_JSON: {"schema": _resource_schema("OperationOutcome")}}
    said = {400: "the search names no patient", 401: "no session, or a bearer token that does not check out",
            403: "another patient, or a token that names no member", 404: "not the member's own record"}
    responses: dict[int | str, dict[str, Any]] = {200: {"content": {FHIR_JSON: {"schema": _resource_schema(resource)}}}}
    for code in refusals:
        responses[code] = {"description": f"OperationOutcome: {said[code]}", "content": outcome}
        if code == 401:
            responses[code]["headers"] = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
    return {"response_class": FhirJSONResponse, "responses": responses}


def _outcome(code: int, issue: str, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": issue,
                                                          "diagnostics": text}]}
    return JSONResponse(body, status_code=code, media_type=FHIR_JSON, headers=headers)


def _fhir(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type=FHIR_JSON, headers={"Cache-Control": "no-store"})


async def _principal(request: Request) -> Principal | JSONResponse:
    portal = portal_of(request)
    auth = request.headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        audience = portal.settings.api_audience()
        if portal.oidc is None or not audience:
            return _outcome(401, "login", "bearer tokens are not accepted here",
                            {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        try:
            claims = await portal.oidc.verify_access_token(auth[7:].strip(), audience)
        except IdentityProviderFailure:
            metrics.DENIED.labels("bad_token").inc()
            return _outcome(401, "login", "the access token is not valid",
                            {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        member = claims.get(portal.settings.oidc_member_claim)
        if not isinstance(member, str) or not member:
            return _outcome(403, "forbidden", "the access token names no member",
                            {"WWW-Authenticate": 'Bearer error="insufficient_scope"'})
        return Principal(member.strip().upper(), "oidc", "bearer")
    signed = await run_in_threadpool(signed_in, request)
    if signed is None:
        metrics.DENIED.labels("no_session").inc()
        return _outcome(401, "login", "sign in first", {"WWW-Authenticate": "Bearer"})
    return signed.principal


def install_fhir(app: FastAPI) -> None:
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/fhir"

    async def record_of(request: Request, patient_id: str, what: str):
        principal = await _principal(request)
        if isinstance(principal, JSONResponse):
            return principal, None
        portal = portal_of(request)
        try:
            record = await run_in_threadpool(patient_record, portal.uow(), portal.directory, principal, patient_id,
                                             endpoint_of(request, "FHIR"), what)
        except NotFound:
            metrics.DENIED.labels("not_found").inc()
            return _outcome(404, "not-found", f"Patient/{patient_id} is not known"), None
        metrics.PAGE_READS.labels(f"fhir_{what}").inc()
        return None, fr.resources(record, portal.directory.facility, portal.today())

    @app.get("/fhir/metadata", tags=["fhir"], summary="CapabilityStatement of the patient-access API",
             **_documented("CapabilityStatement"))
    def capability(request: Request) -> JSONResponse:
        return _fhir({
            "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-01", "kind": "instance",
            "fhirVersion": "4.0.1", "format": ["json"],
            "implementation": {"description": "Patient access: a member's own record", "url": base(request)},
            "rest": [{"mode": "server", "resource": [
                {"type": "Patient", "interaction": [{"code": "read"}],
                 "operation": [{"name": "everything",
                                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]},
                *({"type": t, "interaction": [{"code": "search-type"}],
                   "searchParam": [{"name": "patient", "type": "reference"}]}
                  for t in ("Encounter", "DetectedIssue", "Task"))]}],
        })

    @app.get("/fhir/Patient/{patient_id}", tags=["fhir"], summary="The signed-in member's Patient resource",
             **_documented("Patient", 401, 403, 404))
    async def read_patient(patient_id: str, request: Request) -> JSONResponse:
        refused, found = await record_of(request, patient_id, "patient")
        if refused is not None:
            return refused
        return _fhir(fr.validated(found["Patient"][0]))

    @app.get("/fhir/Patient/{patient_id}/$everything", tags=["fhir"],
             summary="Everything the platform holds about the signed-in member (searchset Bundle)",
             **_documented("Bundle", 401, 403, 404))
    async def everything(patient_id: str, request: Request) -> JSONResponse:
        refused, found = await record_of(request, patient_id, "everything")
        if refused is not None:
            return refused
        entries = [fr.validated(r) for t in fr.RESOURCE_TYPES for r in found[t]]
        return _fhir(fr.bundle(entries, base(request)))

    @app.get("/fhir/{resource_type}", tags=["fhir"], summary="Search Encounter, DetectedIssue or Task by patient",
             **_documented("Bundle", 400, 401, 403, 404))
    async def search(resource_type: str, request: Request, patient: str | None = None) -> JSONResponse:
        if resource_type not in ("Encounter", "DetectedIssue", "Task"):
            return _outcome(404, "not-supported", f"{resource_type[:40]} is not served here")
        principal = await _principal(request)
        if isinstance(principal, JSONResponse):
            return principal
        pid = (patient or "").removeprefix("Patient/")
        if not pid:
            return _outcome(400, "required", "the patient search parameter is required")
        if pid != principal.member_id:
            metrics.DENIED.labels("other_patient").inc()
            return _outcome(403, "forbidden", "you may read only your own record")
        refused, found = await record_of(request, pid, resource_type.lower())
        if refused is not None:
            return refused
        return _fhir(fr.bundle([fr.validated(r) for r in found[resource_type]], base(request)))
