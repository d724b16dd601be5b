"""The fields the admissions service reads from an ADT message, as plain values.

``extract`` works on the light reader; ``hl7_full.extract_full`` produces the same
``AdtFields`` from python-hl7's full parse (a test keeps the two in agreement). Values are
unescaped; empty means absent (``""`` for header strings, ``None`` for optional values).
Identifier, location, clinician and diagnosis entries are dicts shaped like the shared
event's value objects (``PatientIdentifier``, ``Location``, ``Clinician``, ``Diagnosis``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from .hl7_errors import DATA_TYPE_ERROR, Hl7Issue
from .hl7_reader import Hl7Message
from .hl7_time import TimestampError, parse_ts

Entry = dict[str, Any]

# (segment, field, AdtFields attribute) for every date/time the service reads.
TIMESTAMP_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("MSH", 7, "message_time"),
    ("EVN", 2, "event_time"),
    ("PV1", 44, "admit_time"),
    ("PV1", 45, "discharge_time"),
)


@dataclass(slots=True)
class AdtFields:
    # MSH
    sending_application: str = ""   # MSH-3.1 (else .2)
    sending_facility: str = ""      # MSH-4.1 (else .2)
    message_time: datetime | None = None  # MSH-7
    message_type: str = ""          # MSH-9.1
    trigger: str = ""               # MSH-9.2, else EVN-1
    structure: str = ""             # MSH-9.3
    control_id: str = ""            # MSH-10
    processing_id: str = ""         # MSH-11.1
    version: str = ""               # MSH-12.1
    accept_ack_type: str = ""       # MSH-15
    application_ack_type: str = ""  # MSH-16
    # EVN
    event_time: datetime | None = None  # EVN-2
    # PID / MRG
    patient_ids: tuple[Entry, ...] = ()        # PID-3, every repetition with an id
    prior_patient_ids: tuple[Entry, ...] = ()  # MRG-1
    # PV1
    patient_class: str | None = None           # PV1-2
    location: Entry | None = None              # PV1-3
    prior_location: Entry | None = None        # PV1-6
    attending: Entry | None = None             # PV1-7 (first repetition)
    visit_number: str | None = None            # PV1-19.1
    discharge_disposition: str | None = None   # PV1-36
    admit_time: datetime | None = None         # PV1-44
    discharge_time: datetime | None = None     # PV1-45
    diagnoses: tuple[Entry, ...] = field(default_factory=tuple)  # DG1-3 (+ DG1-4, DG1-6)

    @property
    def enhanced_mode(self) -> bool:
        """Enhanced acknowledgment mode: MSH-15 or MSH-16 is valued."""
        return bool(self.accept_ack_type or self.application_ack_type)


def _opt(value: str) -> str | None:
    return value or None


def _at(fields: list[str] | None, number: int) -> str:
    return fields[number] if fields is not None and number < len(fields) else ""


def _hd(msg: Hl7Message, raw: str) -> str:
    """Hierarchic designator (first repetition): namespace id, else universal id."""
    comps = msg.components(msg.first_repetition(raw))
    return msg.unescape(comps[0]) or (msg.unescape(comps[1]) if len(comps) > 1 else "")


def _cx_list(msg: Hl7Message, raw: str) -> tuple[Entry, ...]:
    """CX repetitions with an id: CX-1 id, CX-4 assigning authority (namespace, else universal id), CX-5 type."""
    if not raw:
        return ()
    rs = msg.repetition_sep
    out = []
    for rep in (raw.split(rs) if rs and rs in raw else (raw,)):
        c = msg.components(rep)
        ident = msg.subcomponent(c[0])
        if not ident:
            continue
        n = len(c)
        auth = (msg.subcomponent(c[3]) or msg.subcomponent(c[3], 2)) if n > 3 else ""
        out.append({
            "id": ident,
            "assigning_authority": auth or None,
            "id_type": (msg.subcomponent(c[4]) if n > 4 else "") or None,
        })
    return tuple(out)


def _location(msg: Hl7Message, raw: str) -> Entry | None:
    """PL: point of care, room, bed, facility (PL-4 namespace, else universal id)."""
    if not raw:
        return None
    c = msg.components(msg.first_repetition(raw))
    n = len(c)
    loc = {
        "facility": ((msg.subcomponent(c[3]) or msg.subcomponent(c[3], 2)) if n > 3 else "") or None,
        "point_of_care": msg.subcomponent(c[0]) or None,
        "room": (msg.subcomponent(c[1]) if n > 1 else "") or None,
        "bed": (msg.subcomponent(c[2]) if n > 2 else "") or None,
    }
    return loc if loc["facility"] or loc["point_of_care"] or loc["room"] or loc["bed"] else None


def _clinician(msg: Hl7Message, raw: str) -> Entry | None:
    """XCN (first repetition): id, family name (FN.1), given name."""
    if not raw:
        return None
    c = msg.components(msg.first_repetition(raw))
    n = len(c)
    doc = {
        "id": msg.subcomponent(c[0]) or None,
        "family_name": (msg.subcomponent(c[1]) if n > 1 else "") or None,
        "given_name": (msg.subcomponent(c[2]) if n > 2 else "") or None,
    }
    return doc if doc["id"] or doc["family_name"] or doc["given_name"] else None


def _diagnoses(msg: Hl7Message) -> tuple[Entry, ...]:
    out = []
    for occ in range(1, msg.count("DG1") + 1):
        seg = msg.fields_of("DG1", occ)
        c = msg.components(msg.first_repetition(_at(seg, 3)))
        code = msg.subcomponent(c[0])
        if not code:
            continue  # a DG1 without a code says nothing usable; it is not a reason to refuse an admit
        n = len(c)
        out.append({
            "code": code,
            "system": (msg.subcomponent(c[2]) if n > 2 else "") or None,
            "description": (msg.subcomponent(c[1]) if n > 1 else "") or msg.leaf(msg.first_repetition(_at(seg, 4))) or None,
            "diagnosis_type": msg.leaf(msg.first_repetition(_at(seg, 6))) or None,
        })
    return tuple(out)


def read_timestamp(
    msg: Hl7Message, segment: str, number: int, default_tz: tzinfo, issues: list[Hl7Issue],
    seen: dict[str, datetime] | None = None, raw: str | None = None,
) -> datetime | None:
    """A TS/DTM field (first repetition, first component); a bad value adds a 102 issue.
    ``seen`` remembers values already parsed in this message (MSH-7 often equals EVN-2);
    ``raw`` is the field's raw text when the caller already has it."""
    value = msg.value(segment, number) if raw is None else (msg.leaf(msg.first_repetition(raw)) if raw else "")
    if not value:
        return None
    if seen is not None and value in seen:
        return seen[value]
    try:
        stamp = parse_ts(value, default_tz)
        if seen is not None:
            seen[value] = stamp
        return stamp
    except TimestampError as exc:
        issues.append(Hl7Issue(
            DATA_TYPE_ERROR, f"{segment}-{number} is not a valid date/time ({exc})", segment, number,
            reject=segment == "MSH",
        ))
        return None


def extract(msg: Hl7Message, default_tz: tzinfo) -> tuple[AdtFields, list[Hl7Issue]]:
    """Read every field the service uses. Date/time problems come back as issues."""
    issues: list[Hl7Issue] = []
    msh = msg.fields_of("MSH")
    evn = msg.fields_of("EVN")
    pid = msg.fields_of("PID")
    pv1 = msg.fields_of("PV1")
    leaf, first = msg.leaf, msg.first_repetition
    msg_type = msg.components(first(_at(msh, 9)))
    f = AdtFields(
        sending_application=_hd(msg, _at(msh, 3)),
        sending_facility=_hd(msg, _at(msh, 4)),
        message_type=msg.subcomponent(msg_type[0]),
        trigger=(msg.subcomponent(msg_type[1]) if len(msg_type) > 1 else "") or leaf(first(_at(evn, 1))),
        structure=msg.subcomponent(msg_type[2]) if len(msg_type) > 2 else "",
        control_id=leaf(first(_at(msh, 10))),
        processing_id=leaf(first(_at(msh, 11))),
        version=leaf(first(_at(msh, 12))),
        accept_ack_type=leaf(first(_at(msh, 15))),
        application_ack_type=leaf(first(_at(msh, 16))),
        patient_ids=_cx_list(msg, _at(pid, 3)),
    )
    seen: dict[str, datetime] = {}
    split = {"MSH": msh, "EVN": evn, "PV1": pv1}
    for segment, number, attr in TIMESTAMP_FIELDS:
        raw = _at(split[segment], number)
        if raw:
            setattr(f, attr, read_timestamp(msg, segment, number, default_tz, issues, seen, raw))
    if msg.has("MRG"):
        f.prior_patient_ids = _cx_list(msg, _at(msg.fields_of("MRG"), 1))
    if pv1 is not None:
        f.patient_class = _opt(leaf(first(_at(pv1, 2))))
        f.location = _location(msg, _at(pv1, 3))
        f.prior_location = _location(msg, _at(pv1, 6))
        f.attending = _clinician(msg, _at(pv1, 7))
        f.visit_number = _opt(leaf(first(_at(pv1, 19))))
        f.discharge_disposition = _opt(leaf(first(_at(pv1, 36))))
    if msg.has("DG1"):
        f.diagnoses = _diagnoses(msg)
    return f, issues
