"""The member's record as FHIR R4 resources: Patient, Encounter, DetectedIssue (care gaps), Task.

Built as plain dicts and validated with ``fhir.resources.R4B`` (the resources used here are
the same in R4 4.0.1 and R4B). Resource ids are stable: the member id for the Patient, uuid5
of the encounter key or gap key, the task id.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.encounter import Encounter as FhirEncounter
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.task import Task

from ..app.patient_access import PatientRecord
from ..domain import wording
from ..domain.model import CareTask, Encounter, Gap

MEMBER_ID_SYSTEM = "urn:ccp:member-id"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DEQM = "http://hl7.org/fhir/us/davinci-deqm"
GAP_STATUS_EXT = f"{DEQM}/StructureDefinition/extension-gapStatus"
GAP_STATUS_SYSTEM = f"{DEQM}/CodeSystem/gaps-status"
_NS = uuid.UUID("6f1d2c3b-4a59-4e7d-8c21-9b0a5e6f7d12")
_GENDER = {"F": "female", "M": "male", "U": "unknown"}
_TASK_STATUS = {"open": "ready", "claimed": "accepted", "in_progress": "in-progress", "scheduled": "in-progress",
                "done": "completed", "unable_to_reach": "failed", "cancelled": "cancelled"}
RESOURCE_TYPES = ("Patient", "Encounter", "DetectedIssue", "Task")


def rid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def _instant(moment: datetime) -> str:
    return moment.isoformat()


def patient(record: PatientRecord) -> dict[str, Any]:
    m = record.member
    out: dict[str, Any] = {
        "resourceType": "Patient", "id": m.member_id, "active": m.active,
        "identifier": [{"system": MEMBER_ID_SYSTEM, "value": m.member_id}],
        "name": [{"use": "official", "family": m.family_name, "given": [m.given_name]}],
        "gender": _GENDER.get(m.sex, "unknown"), "birthDate": m.birth_date.isoformat(),
        "managingOrganization": {"display": record.team.practice.name,
                                 "identifier": {"system": "urn:ccp:practice-id", "value": m.pcp_practice_id}},
    }
    if m.pcp_npi:
        gp: dict[str, Any] = {"identifier": {"system": NPI_SYSTEM, "value": m.pcp_npi}}
        if record.team.pcp:
            gp["display"] = record.team.pcp.name
        out["generalPractitioner"] = [gp]
    return out


def encounter(e: Encounter, facility_name: str) -> dict[str, Any]:
    period: dict[str, str] = {}
    if e.started_at:
        period["start"] = _instant(e.started_at)
    if e.ended_at:
        period["end"] = _instant(e.ended_at)
    code, display = ("EMER", "emergency") if e.setting == "emergency" else ("IMP", "inpatient encounter")
    out: dict[str, Any] = {
        "resourceType": "Encounter", "id": rid("encounter", e.member_id, e.encounter_key),
        "status": "in-progress" if e.status == "in_progress" else "finished",
        "class": {"system": ACT_CODE, "code": code, "display": display},
        "subject": {"reference": f"Patient/{e.member_id}"},
        "serviceProvider": {"display": facility_name},
    }
    if period:
        out["period"] = period
    return out


def detected_issue(g: Gap, today: date) -> dict[str, Any]:
    advice = wording.gap_advice(g, today)
    gap_status = "open-gap" if g.status == "open" else "closed-gap" if g.status in ("closed", "due_soon") \
        else "not-applicable"
    return {
        "resourceType": "DetectedIssue", "id": rid("gap", g.gap_key), "status": "final",
        "modifierExtension": [{"url": GAP_STATUS_EXT, "valueCodeableConcept": {
            "coding": [{"system": GAP_STATUS_SYSTEM, "code": gap_status}]}}],
        "code": {"coding": [{"system": ACT_CODE, "code": "CAREGAP", "display": "Care Gaps"}], "text": advice.title},
        "patient": {"reference": f"Patient/{g.member_id}"},
        "identifiedDateTime": _instant(g.occurred_at),
        "detail": f"{advice.action} {advice.when or ''}".strip(),
    }


def task(t: CareTask, today: date) -> dict[str, Any]:
    what, status_words = wording.task_wording(t, today)
    out: dict[str, Any] = {
        "resourceType": "Task", "id": str(t.task_id), "status": _TASK_STATUS.get(t.status, "ready"),
        "intent": "plan", "description": what, "for": {"reference": f"Patient/{t.member_id}"},
        "businessStatus": {"text": status_words},
        "lastModified": _instant(t.occurred_at),
        "code": {"text": t.kind},
    }
    if t.due_date:
        out["restriction"] = {"period": {"end": t.due_date.isoformat()}}
    if t.appointment_date:
        out["executionPeriod"] = {"start": t.appointment_date.isoformat()}
    return out


def resources(record: PatientRecord, facility, today: date) -> dict[str, list[dict[str, Any]]]:
    return {
        "Patient": [patient(record)],
        "Encounter": [encounter(e, facility(e.facility)) for e in record.encounters],
        "DetectedIssue": [detected_issue(g, today) for g in record.gaps],
        "Task": [task(t, today) for t in record.tasks],
    }


_MODELS = {"Patient": Patient, "Encounter": FhirEncounter, "DetectedIssue": DetectedIssue, "Task": Task}


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource after fhir.resources validated it (raises on a shape FHIR does not allow)."""
    return _MODELS[resource["resourceType"]].model_validate(resource).model_dump(mode="json", exclude_none=True)


def bundle(entries: list[dict[str, Any]], base: str, total: int | None = None) -> dict[str, Any]:
    out = {
        "resourceType": "Bundle", "type": "searchset", "total": len(entries) if total is None else total,
        "timestamp": datetime.now().astimezone().isoformat(),
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                   "search": {"mode": "match"}} for r in entries],
    }
    Bundle.model_validate(out)
    return out
