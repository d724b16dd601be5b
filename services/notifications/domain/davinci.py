"""Da Vinci Unsolicited Notifications (hl7.fhir.us.davinci-alerts 1.1.0): a message Bundle
POSTed to the recipient's ``[base]/$process-message``.

``Bundle.type = message``, ``id`` = the notification id (a redelivery carries the same),
``timestamp``, ``identifier``; the ``MessageHeader`` first (``eventCoding`` notification-admit /
-discharge / -transfer from CodeSystem ``notification-event``, ``focus`` the Encounter inside
the Bundle, ``sender`` the sending facility's Organization, ``destination.endpoint``), then the
Encounter, the Patient, the Location, the attending Practitioner, the Organization and one
encounter-diagnosis Condition per diagnosis. Every reference points inside the Bundle
(``urn:uuid:``), as the IG's ``bundled`` aggregation requires. No ``request``/``response`` on
entries, no ``total``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from . import fhir_resources as res
from .model import Notification, derived
from .topics import DAVINCI_EVENTS

DA_VINCI = "http://hl7.org/fhir/us/davinci-alerts"
EVENT_SYSTEM = f"{DA_VINCI}/CodeSystem/notification-event"
PROFILES = {
    "notification-admit": f"{DA_VINCI}/StructureDefinition/admit-notification-messageheader",
    "notification-discharge": f"{DA_VINCI}/StructureDefinition/discharge-notification-messageheader",
    "notification-transfer": f"{DA_VINCI}/StructureDefinition/transfer-notification-messageheader",
}
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"


def message_bundle(n: Notification, *, destination: str, source_endpoint: str, now: datetime) -> dict[str, Any]:
    code = DAVINCI_EVENTS[n.topic]
    ids = {name: str(derived("davinci", n.event_id, name)) for name in
           ("header", "encounter", "patient", "location", "practitioner", "organization")}

    def ref(name: str) -> dict[str, str]:
        return {"reference": f"urn:uuid:{ids[name]}"}

    enc_facts = n.facts["encounter"]
    encounter = res.encounter(enc_facts, subject=ref("patient")["reference"])
    encounter["id"] = ids["encounter"]
    encounter["meta"] = {"profile": [f"{DA_VINCI}/StructureDefinition/adt-notification-encounter"]}
    facility = enc_facts["facility"]
    organization = {"resourceType": "Organization", "id": ids["organization"],
                    "meta": {"profile": [US_CORE + "us-core-organization"]}, "active": True,
                    "identifier": [{"system": "urn:ccp:facility", "value": facility}], "name": facility}
    resources: list[dict[str, Any]] = []
    loc = enc_facts.get("location")
    if loc:
        location = res.prune({"resourceType": "Location", "id": ids["location"],
                              "meta": {"profile": [US_CORE + "us-core-location"]},
                              "name": res.location_text(loc), "managingOrganization": ref("organization")})
        encounter["location"] = [{"location": ref("location"), "status": "active"}]
        resources.append(location)
    attending = enc_facts.get("attending")
    if attending:
        practitioner = res.prune({
            "resourceType": "Practitioner", "id": ids["practitioner"],
            "meta": {"profile": [US_CORE + "us-core-practitioner"]},
            "identifier": [{"system": res.NPI_SYSTEM, "value": attending.get("id") or "unknown"}],
            "name": [{"family": attending.get("family_name") or "unknown",
                      "given": [attending["given_name"]] if attending.get("given_name") else None}]})
        encounter["participant"] = [{"individual": ref("practitioner")}]
        resources.append(practitioner)
    encounter["serviceProvider"] = ref("organization")
    patient = res.patient(n.facts["patient"])
    patient["id"] = ids["patient"]
    patient["meta"] = {"profile": [US_CORE + "us-core-patient"]}
    conditions = []
    for i, d in enumerate(enc_facts.get("diagnoses") or ()):
        cid = str(derived("davinci", n.event_id, "condition", i))
        conditions.append(res.prune({
            "resourceType": "Condition", "id": cid,
            "meta": {"profile": [f"{DA_VINCI}/StructureDefinition/adt-notification-condition"]},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                      "code": "encounter-diagnosis"}]}],
            "code": {"coding": [{"system": res.ICD10, "code": d["code"], "display": d.get("description")}]},
            "subject": ref("patient"), "encounter": ref("encounter")}))
    header = {
        "resourceType": "MessageHeader", "id": ids["header"], "meta": {"profile": [PROFILES[code]]},
        "eventCoding": {"system": EVENT_SYSTEM, "code": code},
        "destination": [{"endpoint": destination}],
        "sender": ref("organization"),
        "source": {"name": "CCP notifications", "endpoint": source_endpoint},
        "focus": [ref("encounter")],
    }
    entries = [header, encounter, patient, organization, *resources, *conditions]
    return {
        "resourceType": "Bundle", "id": str(n.event_id),
        "meta": {"profile": [f"{DA_VINCI}/StructureDefinition/notifications-bundle"]},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{n.event_id}"},
        "type": "message", "timestamp": now.isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def process_message_url(endpoint: str) -> str:
    """The recipient's ``$process-message`` (an endpoint given as the FHIR base or the full URL)."""
    return endpoint if endpoint.rstrip("/").endswith("$process-message") else endpoint.rstrip("/") + "/$process-message"


__all__ = ["message_bundle", "process_message_url", "uuid"]
