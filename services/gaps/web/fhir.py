"""A member's care gaps as FHIR R4 in the shape of the Da Vinci DEQM ``$care-gaps`` output.

``Bundle`` (type ``document``, profile gaps-bundle-deqm) → first entry a ``Composition``
(LOINC 96315-7 "Gaps in care report"; one section per measure, its ``focus`` the measure
report, its entries the detected issues) → the ``Patient``, the reporting ``Organization``,
one individual ``MeasureReport`` per measure (per discharge for the follow-up measure) with the
population counts, and a ``DetectedIssue`` (code CAREGAP) per gap with the DEQM gap-status
modifier extension: ``open-gap`` or ``closed-gap`` (``not-applicable`` on request).

Built as plain dicts and validated with ``fhir.resources.R4B`` (FHIR R4B: the resources used
here are the same as in R4 4.0.1), every resource on its own and then the whole bundle.
Resource ids are uuid5 of the gap keys, so the same gaps give the same ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.composition import Composition
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.measurereport import MeasureReport
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.patient import Patient

from ..domain import EvidenceItem

DEQM = "http://hl7.org/fhir/us/davinci-deqm"
PROFILE_BUNDLE = f"{DEQM}/StructureDefinition/gaps-bundle-deqm"
PROFILE_COMPOSITION = f"{DEQM}/StructureDefinition/gaps-composition-deqm"
PROFILE_REPORT = f"{DEQM}/StructureDefinition/indv-measurereport-deqm"
PROFILE_ISSUE = f"{DEQM}/StructureDefinition/gaps-detectedissue-deqm"
GAP_STATUS_EXT = f"{DEQM}/StructureDefinition/extension-gapStatus"
GAP_STATUS_SYSTEM = f"{DEQM}/CodeSystem/gaps-status"
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
IMPROVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
MEMBER_ID_SYSTEM = "urn:ccp:member-id"
GAP_STATUSES = ("open-gap", "closed-gap", "not-applicable")

MEASURE_TITLES = {
    "CMS130": "Colorectal Cancer Screening",
    "CMS125": "Breast Cancer Screening",
    "CMS122": "Diabetes: Glycemic Status Assessment Greater Than 9%",
    "CMS165": "Controlling High Blood Pressure",
    "FUP": "Follow-Up Visit After Inpatient Discharge",
}
_NS = uuid.UUID("0b6f3f5e-2f1c-4a8e-9d3b-6c2f8e1a7d55")
_GENDER = {"F": "female", "M": "male", "U": "unknown"}
_CODE_SYSTEMS = {
    "CPT": "http://www.ama-assn.org/go/cpt", "HCPCS": "urn:oid:2.16.840.1.113883.6.285",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm", "LOINC": "http://loinc.org",
    "POS": "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
    "REV": "https://www.nubc.org/CodeSystem/RevenueCodes", "UB04": "https://www.nubc.org/CodeSystem/PatDischargeStatus",
    "ADT": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
}


def gap_status_code(status: str) -> str:
    if status == "open":
        return "open-gap"
    if status in ("closed", "due_soon"):
        return "closed-gap"
    return "not-applicable"


def _rid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "|".join(parts)))


def _ref(rid: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{rid}"}


def _populations(measure_id: str, status: str) -> list[dict[str, Any]]:
    in_ip = status in ("open", "closed", "due_soon", "excluded")
    excluded = status == "excluded"
    met = status in ("closed", "due_soon")
    numerator = (status == "open") if measure_id == "CMS122" else met  # CMS122: poor control is the numerator
    counts = (("initial-population", in_ip), ("denominator", in_ip), ("denominator-exclusion", excluded),
              ("numerator", numerator and not excluded))
    return [{"code": {"coding": [{"system": POPULATION_SYSTEM, "code": code}]}, "count": int(flag)}
            for code, flag in counts]


def _evidence_concepts(evidence: Iterable[EvidenceItem]) -> list[dict[str, Any]]:
    out = []
    for e in evidence:
        coding: dict[str, Any] = {"code": e.code}
        system = _CODE_SYSTEMS.get(e.code_system)
        if system:
            coding["system"] = system
        if e.description:
            coding["display"] = e.description
        text = f"{e.code} on {e.date.isoformat()}"
        if e.value:
            text += f" ({e.value})"
        if e.claim_id:
            text += f", claim {e.claim_id}"
        out.append({"coding": [coding], "text": text})
    return out


def care_gaps_bundle(member_row, body: Mapping[str, Any], gap_rows: list, *, measure_base: str, now: datetime,
                     statuses: tuple[str, ...] = ("open-gap", "closed-gap")) -> dict[str, Any]:
    """The validated document bundle (as JSON-ready dict) for one member: ``member_row`` an
    ``app.ports.MemberView`` (member id, sex, birth date), ``body`` their names (``given_name``,
    ``family_name``), ``gap_rows`` ``app.ports.GapView``s (evidence as ``domain.EvidenceItem``)."""
    member_id = member_row.member_id
    patient_id = _rid("patient", member_id)
    org_id = _rid("organization", "ccp-gaps")
    stamp = now.isoformat()
    patient = {
        "resourceType": "Patient", "id": patient_id,
        "identifier": [{"system": MEMBER_ID_SYSTEM, "value": member_id}],
        "name": [{"family": body.get("family_name") or None, "given": [body["given_name"]] if body.get("given_name")
                  else None}],
        "gender": _GENDER.get(member_row.sex, "unknown"), "birthDate": member_row.birth_date.isoformat(),
    }
    organization = {"resourceType": "Organization", "id": org_id, "name": "Care coordination platform (gaps service)"}
    reports: list[dict] = []
    issues: list[dict] = []
    sections: list[dict] = []
    for row in gap_rows:
        report_id = _rid("report", row.gap_key, row.status, row.updated_at.isoformat())
        title = MEASURE_TITLES.get(row.measure_id, row.measure_id)
        report = {
            "resourceType": "MeasureReport", "id": report_id, "meta": {"profile": [PROFILE_REPORT]},
            "status": "complete", "type": "individual",
            "measure": f"{measure_base.rstrip('/')}/Measure/{row.measure_id}|{row.measure_version}",
            "subject": _ref(patient_id), "date": stamp, "reporter": _ref(org_id),
            "period": {"start": row.period_start.isoformat(), "end": row.period_end.isoformat()},
            "improvementNotation": {"coding": [{"system": IMPROVEMENT_SYSTEM,
                                                "code": "decrease" if row.measure_id == "CMS122" else "increase"}]},
            "group": [{"population": _populations(row.measure_id, row.status)}],
        }
        reports.append(report)
        section: dict[str, Any] = {"title": f"{title} ({row.measure_version})"
                                   + (f", discharge {row.instance_id}" if row.instance_id else ""),
                                   "focus": _ref(report_id)}
        code = gap_status_code(row.status)
        if code in statuses:
            issue_id = _rid("issue", row.gap_key, row.status, row.updated_at.isoformat())
            detail = row.reason
            if row.status == "due_soon" and row.lapses_on:
                detail += f" (due soon: the evidence stops counting after {row.lapses_on.isoformat()})"
            elif row.due_date and row.status == "open":
                detail += f" (due {row.due_date.isoformat()})"
            evidence: list[dict[str, Any]] = [{"detail": [_ref(report_id)]}]
            concepts = _evidence_concepts(row.evidence)
            if concepts:
                evidence.append({"code": concepts})
            issues.append({
                "resourceType": "DetectedIssue", "id": issue_id, "meta": {"profile": [PROFILE_ISSUE]},
                "modifierExtension": [{"url": GAP_STATUS_EXT, "valueCodeableConcept": {
                    "coding": [{"system": GAP_STATUS_SYSTEM, "code": code}]}}],
                "status": "final",
                "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "CAREGAP",
                                     "display": "Care Gaps"}]},
                "patient": _ref(patient_id), "identifiedDateTime": row.updated_at.isoformat(),
                "evidence": evidence, "detail": detail[:1000],
            })
            section["entry"] = [_ref(issue_id)]
        sections.append(section)
    composition = {
        "resourceType": "Composition", "id": _rid("composition", member_id, stamp),
        "meta": {"profile": [PROFILE_COMPOSITION]}, "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "96315-7", "display": "Gaps in care report"}]},
        "subject": _ref(patient_id), "date": stamp, "author": [_ref(org_id)], "title": "Care Gap Report",
        "section": sections or None,
    }
    resources = [(Composition, composition), (Patient, patient), (Organization, organization)] + \
        [(MeasureReport, r) for r in reports] + [(DetectedIssue, i) for i in issues]
    entries = []
    for cls, res in resources:
        res = _prune(res)
        cls.model_validate(res)  # each resource on its own: a clear error names the resource
        entries.append({"fullUrl": f"urn:uuid:{res['id']}", "resource": res})
    bundle = {
        "resourceType": "Bundle", "id": _rid("bundle", member_id, stamp), "meta": {"profile": [PROFILE_BUNDLE]},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_rid('bundle-id', member_id, stamp)}"},
        "type": "document", "timestamp": stamp, "entry": entries,
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def care_gaps_parameters(bundles: list[dict[str, Any]]) -> dict[str, Any]:
    """``$care-gaps`` answers a ``Parameters`` resource: one ``return`` per patient bundle."""
    params = {"resourceType": "Parameters", "parameter": [{"name": "return", "resource": b} for b in bundles]}
    return Parameters.model_validate(params).model_dump(mode="json", exclude_none=True)


def _prune(value):
    """Drop None and empty containers (FHIR forbids empty elements)."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        items = [_prune(v) for v in value]
        return [v for v in items if v not in (None, [], {}, "")]
    return value


