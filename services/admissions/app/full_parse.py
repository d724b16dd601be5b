"""The full-parse audit (``FULL_PARSE_AUDIT``): off the ACK path, python-hl7's full parse of the
raw message must agree with the light reader's event on what routes it (trigger, MSH-10,
patient identifiers, visit number). The worker counts the disagreements."""

from __future__ import annotations

from datetime import tzinfo

from shared.events import AdtEventV2

from ..domain.hl7_errors import Hl7Error


def full_parse_agrees(event: AdtEventV2, tz: tzinfo) -> bool:
    """False when python-hl7 reads the message differently (or cannot read it)."""
    if not event.raw or event.hl7_version is None:
        return True
    from ..domain.hl7_full import extract_full  # python-hl7: loaded only when the audit is on

    try:
        fields, _ = extract_full(event.raw, tz)
    except Hl7Error:
        return False
    ids = tuple((p["id"], p["assigning_authority"]) for p in fields.patient_ids)
    return not (fields.trigger != event.trigger or fields.control_id != event.message_control_id
                or ids != tuple((p.id, p.assigning_authority) for p in event.patient_ids)
                or (fields.visit_number or None) != event.visit_number)
