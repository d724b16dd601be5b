"""FHIR R4 resources built from the service's snapshots: Patient, Encounter, DetectedIssue
(the DEQM care-gap form the gaps service exports), Task. Plain dicts; empty elements pruned
(FHIR forbids them). Validated by the tests with ``fhir.resources`` (R4B models)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from .model import encounter_id, issue_id, patient_id

MEMBER_ID_SYSTEM = "urn:ccp:member-id"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DISPOSITION_SYSTEM = "https://www.nubc.org/CodeSystem/PatDischargeStatus"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
DEQM = "http://hl7.org/fhir/us/davinci-deqm"
_GENDER = {"F": "female", "M": "male", "U": "unknown"}
_CLASS = {"I": ("IMP", "inpatient encounter"), "E": ("EMER", "emergency"), "O": ("AMB", "ambulatory"),
          "P": ("PRENC", "pre-admission"), "B": ("AMB", "ambulatory"), "R": ("AMB", "ambulatory")}
_TASK_STATUS = {"open": "ready", "claimed": "accepted", "in_progress": "in-progress", "scheduled": "in-progress",
                "done": "completed", "unable_to_reach": "failed", "cancelled": "cancelled"}
_CODE_SYSTEMS = {"CPT": "http://www.ama-assn.org/go/cpt", "HCPCS": "urn:oid:2.16.840.1.113883.6.285",
                 "ICD10CM": ICD10, "LOINC": "http://loinc.org"}


def prune(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v not in (None, [], {}, "")]
    return value


def patient(p: dict[str, Any]) -> dict[str, Any]:
    return prune({
        "resourceType": "Patient", "id": p.get("fhir_id") or patient_id(p["member_id"]),
        "identifier": [{"system": MEMBER_ID_SYSTEM, "value": p["member_id"]}],
        "name": [{"family": p.get("family_name"), "given": [p["given_name"]] if p.get("given_name") else None}],
        "gender": _GENDER.get(p.get("sex") or "U", "unknown"), "birthDate": p.get("birth_date"),
        "generalPractitioner": [{"identifier": {"system": NPI_SYSTEM, "value": p["pcp_npi"]}}]
        if p.get("pcp_npi") else None,
    })


def location_text(loc: dict[str, Any] | None) -> str | None:
    if not loc:
        return None
    parts = [loc.get("facility"), loc.get("point_of_care"), loc.get("room"), loc.get("bed")]
    return " ".join(str(p) for p in parts if p) or None


def clinician_name(c: dict[str, Any] | None) -> str | None:
    if not c:
        return None
    return " ".join(x for x in (c.get("given_name"), c.get("family_name")) if x) or None


def encounter(e: dict[str, Any], subject: str | None = None) -> dict[str, Any]:
    """``subject``: the Patient reference (default ``Patient/<id>``)."""
    code, display = _CLASS.get(e.get("patient_class") or "", ("IMP", "inpatient encounter"))
    attending = e.get("attending") or {}
    key = e["key"]
    facility, _, visit = key.partition("|")
    return prune({
        "resourceType": "Encounter", "id": encounter_id(key),
        "identifier": [{"system": f"urn:ccp:visit:{facility}", "value": visit}] if visit else None,
        "status": e["status"],
        "class": {"system": ACT_CODE, "code": code, "display": display},
        "subject": {"reference": subject or f"Patient/{patient_id(e['member_id'])}"},
        "participant": [{"individual": {
            "identifier": {"system": NPI_SYSTEM, "value": attending["id"]} if attending.get("id") else None,
            "display": clinician_name(attending)}}] if attending else None,
        "period": {"start": e.get("start"), "end": e.get("end")},
        "reasonCode": [{"coding": [{"system": ICD10, "code": d["code"], "display": d.get("description")}]}
                       for d in e.get("diagnoses") or ()],
        "hospitalization": {"dischargeDisposition": {"coding": [{"system": DISPOSITION_SYSTEM,
                                                                 "code": e["disposition"]}]}}
        if e.get("disposition") else None,
        "location": [{"location": {"display": location_text(e.get("location"))}, "status": "active"}]
        if e.get("location") else None,
        "serviceProvider": {"display": facility},
    })


def detected_issue(g: dict[str, Any]) -> dict[str, Any]:
    status = g["status"]
    code = "open-gap" if status == "open" else ("closed-gap" if status in ("closed", "due_soon") else "not-applicable")
    detail = g.get("reason") or ""
    if g.get("due_date") and status == "open":
        detail += f" (due {g['due_date']})"
    evidence = []
    for x in g.get("evidence") or ():
        coding = {"code": x["code"], "system": _CODE_SYSTEMS.get(x.get("code_system", "")), "display": x.get("description")}
        evidence.append({"code": [{"coding": [coding], "text": f"{x['code']} on {x['date']}"}]})
    return prune({
        "resourceType": "DetectedIssue", "id": issue_id(g["gap_key"]),
        "meta": {"profile": [f"{DEQM}/StructureDefinition/gaps-detectedissue-deqm"]},
        "modifierExtension": [{"url": f"{DEQM}/StructureDefinition/extension-gapStatus", "valueCodeableConcept": {
            "coding": [{"system": f"{DEQM}/CodeSystem/gaps-status", "code": code}]}}],
        "status": "final",
        "code": {"coding": [{"system": ACT_CODE, "code": "CAREGAP", "display": "Care Gaps"}],
                 "text": f"{g['measure_id']} {g['measure_version']}"},
        "patient": {"reference": f"Patient/{patient_id(g['member_id'])}"},
        "identifiedDateTime": g.get("updated_at"),
        "evidence": evidence, "detail": detail[:1000],
    })


def task(k: dict[str, Any], overdue: bool = False) -> dict[str, Any]:
    return prune({
        "resourceType": "Task", "id": k["task_id"], "status": _TASK_STATUS.get(k["status"], "ready"),
        "businessStatus": {"text": "overdue"} if overdue else {"text": k["status"]},
        "intent": "order", "code": {"text": f"{k['kind']} outreach ({k['reason_key']})"},
        "for": {"reference": f"Patient/{patient_id(k['member_id'])}"},
        "owner": {"display": k.get("queue")},
        "restriction": {"period": {"end": k["due_date"]}} if k.get("due_date") else None,
        "lastModified": k.get("updated_at"),
    })


_BUILT: "OrderedDict[uuid.UUID, tuple[dict[str, Any] | None, dict[str, Any] | None]]" = OrderedDict()
BUILT_MAX = 4096


def of_notification(n) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the focus resource, the Patient resource) of a notification, built once per notification
    however many subscriptions it goes to (the last few thousand are kept). Shared: read-only."""
    found = _BUILT.get(n.event_id)
    if found is None:
        from . import topics as t

        focus = focus_resource(n.focus_type, n.facts, overdue=n.topic == t.TASK_OVERDUE)
        pat = patient(n.facts["patient"]) if "patient" in n.facts else None
        found = _BUILT[n.event_id] = (focus, pat)
        while len(_BUILT) > BUILT_MAX:
            _BUILT.popitem(last=False)
    return found


def focus_resource(focus_type: str, facts: dict[str, Any], overdue: bool = False) -> dict[str, Any] | None:
    if focus_type == "Encounter" and "encounter" in facts:
        return encounter(facts["encounter"])
    if focus_type == "DetectedIssue" and "gap" in facts:
        return detected_issue(facts["gap"])
    if focus_type == "Task" and "task" in facts:
        return task(facts["task"], overdue=overdue)
    if focus_type == "Patient" and "patient" in facts:
        return patient(facts["patient"])
    return None
