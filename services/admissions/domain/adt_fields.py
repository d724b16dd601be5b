"""The fields the admissions service reads from an ADT message, as plain values.

``extract`` works on the light reader; ``hl7_full.extract_full`` produces the same
``AdtFields`` from python-hl7's full parse (a test keeps the two in agreement). Values are
unescaped; empty means absent (``""`` for header strings, ``None`` for optional values).
Identifier, location, clinician and diagnosis entries are dicts shaped like the shared
event's value objects (``PatientIdentifier``, ``Location``, ``Clinician``, ``Diagnosis``).

Reading is separate from judging: a date/time that cannot be read is left out and named in
``bad_times``; a field sent as HL7's explicit null ``""`` is left out and named in ``nulls``
(an update clears it). What is refused and what is a warning is ``leniency.assess``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from .hl7_errors import Hl7Issue
from .hl7_reader import NULL, Hl7Message
from .hl7_time import TimestampError, parse_ts, precision_of

Entry = dict[str, Any]

# (segment, field, AdtFields attribute) for every date/time the service reads.
TIMESTAMP_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("MSH", 7, "message_time"),
    ("EVN", 2, "event_time"),
    ("EVN", 6, "event_occurred"),
    ("PV1", 44, "admit_time"),
    ("PV1", 45, "discharge_time"),
)
# (PV1 field, AdtFields attribute) of the visit fields an explicit null "" clears
NULLABLE_PV1: tuple[tuple[int, str], ...] = (
    (2, "patient_class"), (3, "location"), (6, "prior_location"), (7, "attending"), (19, "visit_number"),
    (36, "discharge_disposition"), (44, "admit_time"), (45, "discharge_time"),
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
    character_set: str = ""         # MSH-18 (first repetition)
    # EVN
    event_time: datetime | None = None  # EVN-2 (recorded date/time)
    event_occurred: datetime | None = None  # EVN-6 (event occurred)
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
    has_pv1: bool = False
    # how the values were read
    precisions: dict[str, str] = field(default_factory=dict)  # time attribute -> year … second
    bad_times: tuple[str, ...] = ()  # time attributes present but not a readable date/time
    nulls: tuple[str, ...] = ()      # attributes sent as the explicit null ""

    @property
    def enhanced_mode(self) -> bool:
        """Enhanced acknowledgment mode: MSH-15 or MSH-16 is valued."""
        return bool(self.accept_ack_type or self.application_ack_type)


def _opt(value: str) -> str | None:
    return value or None


def _at(fields: list[str] | None, number: int) -> str:
    return fields[number] if fields is not None and number < len(fields) else ""


def hierarchic_designator(msg: Hl7Message, raw: str) -> str:
    """Hierarchic designator (first repetition): namespace id, else universal id."""
    comps = msg.components(msg.first_repetition(raw))
    value = msg.unescape(comps[0]).strip() or (msg.unescape(comps[1]).strip() if len(comps) > 1 else "")
    return "" if value == NULL else value


def _cx_list(msg: Hl7Message, raw: str) -> tuple[Entry, ...]:
    """CX repetitions with an id: CX-1 id, CX-4 assigning authority (namespace, else universal id), CX-5 type."""
    if not raw:
        return ()
    rs = msg.repetition_sep
    out = []
    for rep in (raw.split(rs) if rs and rs in raw else (raw,)):
        c = msg.components(rep)
        ident = msg.subcomponent(c[0]).strip()
        if not ident:
            continue
        n = len(c)
        auth = (msg.subcomponent(c[3]).strip() or msg.subcomponent(c[3], 2).strip()) if n > 3 else ""
        out.append({
            "id": ident,
            "assigning_authority": auth or None,
            "id_type": (msg.subcomponent(c[4]).strip() if n > 4 else "") or None,
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
    msg: Hl7Message, segment: str, number: int, default_tz: tzinfo, issues: list[Hl7Issue] | None = None,
    seen: dict[str, datetime] | None = None, raw: str | None = None,
) -> datetime | None:
    """A TS/DTM field (first repetition, first component); None when empty or unreadable.
    ``seen`` remembers values already parsed in this message (MSH-7 often equals EVN-2);
    ``raw`` is the field's raw text when the caller already has it. Raises ``TimestampError``."""
    value = msg.value(segment, number) if raw is None else (msg.leaf(msg.first_repetition(raw)) if raw else "")
    value = value.strip()
    if not value:
        return None
    if seen is not None and value in seen:
        return seen[value]
    stamp = parse_ts(value, default_tz)
    if seen is not None:
        seen[value] = stamp
    return stamp


def extract(msg: Hl7Message, default_tz: tzinfo) -> tuple[AdtFields, list[Hl7Issue]]:
    """Read every field the service uses. Nothing is judged here (see the module's docstring):
    the issues list is kept for callers and is empty."""
    msh = msg.fields_of("MSH")
    evn = msg.fields_of("EVN")
    pid = msg.fields_of("PID")
    pv1 = msg.fields_of("PV1")
    leaf, first = msg.leaf, msg.first_repetition
    msg_type = msg.components(first(_at(msh, 9)))
    f = AdtFields(
        sending_application=hierarchic_designator(msg, _at(msh, 3)),
        sending_facility=hierarchic_designator(msg, _at(msh, 4)),
        message_type=msg.subcomponent(msg_type[0]).strip(),
        trigger=((msg.subcomponent(msg_type[1]) if len(msg_type) > 1 else "") or leaf(first(_at(evn, 1)))).strip(),
        structure=msg.subcomponent(msg_type[2]).strip() if len(msg_type) > 2 else "",
        control_id=leaf(first(_at(msh, 10))).strip(),
        processing_id=leaf(first(_at(msh, 11))).strip(),
        version=leaf(first(_at(msh, 12))).strip(),
        accept_ack_type=leaf(first(_at(msh, 15))).strip(),
        application_ack_type=leaf(first(_at(msh, 16))).strip(),
        character_set=leaf(first(_at(msh, 18))).strip(),
        patient_ids=_cx_list(msg, _at(pid, 3)),
        has_pv1=pv1 is not None,
    )
    seen: dict[str, datetime] = {}
    split = {"MSH": msh, "EVN": evn, "PV1": pv1}
    bad: list[str] = []
    for segment, number, attr in TIMESTAMP_FIELDS:
        raw = _at(split[segment], number)
        if raw and raw != NULL:
            value = leaf(first(raw)).strip()
            if not value:
                continue
            stamp = seen.get(value)
            if stamp is None:
                try:
                    stamp = seen[value] = parse_ts(value, default_tz)
                except TimestampError:
                    bad.append(attr)
                    continue
            setattr(f, attr, stamp)
            f.precisions[attr] = precision_of(value)
    f.bad_times = tuple(bad)
    if msg.has("MRG"):
        f.prior_patient_ids = _cx_list(msg, _at(msg.fields_of("MRG"), 1))
    if pv1 is not None:
        f.patient_class = _opt(leaf(first(_at(pv1, 2))).strip())
        f.location = _location(msg, _at(pv1, 3))
        f.prior_location = _location(msg, _at(pv1, 6))
        f.attending = _clinician(msg, _at(pv1, 7))
        f.visit_number = _opt(leaf(first(_at(pv1, 19))).strip())
        f.discharge_disposition = _opt(leaf(first(_at(pv1, 36))).strip())
        if NULL in msg.text:  # rare: skip the scan for most messages
            f.nulls = tuple(attr for number, attr in NULLABLE_PV1 if _at(pv1, number) == NULL)
    if msg.has("DG1"):
        f.diagnoses = _diagnoses(msg)
    return f, []
