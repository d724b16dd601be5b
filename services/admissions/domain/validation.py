"""Validation of an inbound ADT message, producing HL7 error information for the ACK.

What is refused and how (table 0357 code, ACK code in original / enhanced mode, ERR-2):

| problem                                                   | code | ACK     | location   |
|-----------------------------------------------------------|------|---------|------------|
| no MSH first (empty, garbage, batch header)               | 100  | AR / CR | MSH        |
| a second MSH in the frame (two messages in one frame)     | 100  | AR / CR | MSH(2)     |
| MSH-1 missing, or a letter/digit/space/control character  | 101/102 | AR / CR | MSH-1   |
| MSH-2 longer than 5, repeated or alphanumeric characters  | 102  | AR / CR | MSH-2      |
| MSH-4 sending facility, MSH-9, MSH-10 or MSH-12 empty     | 101  | AR / CR | MSH-n      |
| MSH-7 not a valid date/time                               | 102  | AR / CR | MSH-7      |
| message type other than ADT (e.g. ORU)                    | 200  | AR / CR | MSH-9      |
| trigger not in the supported list (e.g. A99)              | 201  | AR / CR | MSH-9.2    |
| MSH-11 processing id not accepted                         | 202  | AR / CR | MSH-11     |
| version not 2.3 … 2.8                                     | 203  | AR / CR | MSH-12     |
| a segment after MSH without a valid segment id (binary)   | 100  | AE / CE | (none)     |
| PID / PV1 (not A40) / MRG (A40) segment missing           | 100  | AE / CE | PID …      |
| PID-3 without any identifier; MRG-1 empty on A40          | 101  | AE / CE | PID-3      |
| EVN-2, PV1-44, PV1-45 impossible or malformed date/time   | 102  | AE / CE | EVN-2 …    |
| no event time at all (EVN-2, PV1-44/45, MSH-7 all empty)  | 101  | AE / CE | EVN-2      |
| a value longer than the event contract allows             | 102  | AE / CE | PID-3 …    |
| truncated MLLP frame (start block before the end block)   | 100  | AR / CR | (none)     |
| frame larger than the configured maximum                  | 207  | AR / CR | (none)     |
| the event could not be written (Kafka down, timeout)      | 207  | AE / CE | (none)     |

Envelope problems (MSH, framing) are rejections; everything else is an error in content.
When the envelope is refused the body is not examined further.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from datetime import tzinfo

from shared.events import SUPPORTED_TRIGGERS

from .adt_fields import AdtFields, extract
from .hl7_errors import (
    REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE, UNSUPPORTED_EVENT_CODE, UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_PROCESSING_ID, UNSUPPORTED_VERSION_ID, Hl7Error, Hl7Issue, error, reject,
)
from .hl7_reader import Hl7Message

SUPPORTED_VERSIONS: tuple[str, ...] = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8")
_ID_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ID_REST = _ID_FIRST | frozenset("0123456789")


@dataclass(frozen=True)
class ValidationPolicy:
    """What this interface accepts. The wiring step fills it from settings."""

    versions: frozenset[str] = frozenset(SUPPORTED_VERSIONS)
    message_types: frozenset[str] = frozenset({"ADT"})
    triggers: frozenset[str] = frozenset(SUPPORTED_TRIGGERS)
    processing_ids: frozenset[str] = frozenset({"P", "T", "D"})
    max_issues: int = 10


DEFAULT_POLICY = ValidationPolicy()


@dataclass
class Inspection:
    """The result of reading and validating one message. ``message``/``fields`` are None when
    the envelope could not be read at all."""

    message: Hl7Message | None
    fields: AdtFields | None
    issues: list[Hl7Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


_SHAPES = {
    "message_type": re.compile(r"[A-Z]{3}"),   # ORU, SIU ...
    "trigger": re.compile(r"[A-Z][0-9]{2}"),    # A99, R01 ...
    "processing_id": re.compile(r"[A-Z]"),      # P, D, T (a mode may follow as a component)
    "version": re.compile(r"[0-9]\.[0-9]{1,2}(\.[0-9]{1,2})?"),  # 2.9, 3.0, 2.5.2
}


def shown(value: str, shape: str = "trigger") -> str:
    """A header value safe to repeat in an error text: only when it has the shape of the code
    the field should hold (so a birth date or an MRN that slid into MSH-11 is never echoed)."""
    pattern = _SHAPES[shape]
    if value and pattern.fullmatch(value):
        return value
    return "(not shown)"


def check_segments(msg: Hl7Message) -> list[Hl7Issue]:
    """A second MSH (two messages in one frame) and segments without a valid id (binary data)."""
    issues: list[Hl7Issue] = []
    fs = msg.field_sep
    for n, seg in enumerate(msg.segments[1:], start=2):
        name = seg[:3]
        if name == "MSH":
            issues.append(reject(
                SEGMENT_SEQUENCE, "the frame holds more than one message (a second MSH segment); send one message per frame",
                "MSH", occurrence=2))
            break
        if len(seg) < 3 or name[0] not in _ID_FIRST or not _ID_REST.issuperset(name[1:]) or (len(seg) > 3 and seg[3] != fs):
            issues.append(error(SEGMENT_SEQUENCE, f"segment {n} does not start with a valid segment id"))
    return issues


def check_envelope(fields: AdtFields, policy: ValidationPolicy) -> list[Hl7Issue]:
    issues: list[Hl7Issue] = []
    if not fields.sending_facility:
        issues.append(reject(REQUIRED_FIELD_MISSING, "MSH-4 (sending facility) is empty", "MSH", 4))
    if not fields.message_type:
        issues.append(reject(REQUIRED_FIELD_MISSING, "MSH-9 (message type) is empty", "MSH", 9, component=1))
    elif fields.message_type not in policy.message_types:
        issues.append(reject(
            UNSUPPORTED_MESSAGE_TYPE,
            f"message type {shown(fields.message_type, 'message_type')} is not supported; this interface accepts "
            + ", ".join(sorted(policy.message_types)),
            "MSH", 9, component=1))
    if fields.message_type in policy.message_types:
        if not fields.trigger:
            issues.append(reject(REQUIRED_FIELD_MISSING, "MSH-9.2 (trigger event) is empty", "MSH", 9, component=2))
        elif fields.trigger not in policy.triggers:
            issues.append(reject(
                UNSUPPORTED_EVENT_CODE, f"trigger event {shown(fields.trigger, 'trigger')} is not supported",
                "MSH", 9, component=2))
    if not fields.control_id:
        issues.append(reject(REQUIRED_FIELD_MISSING, "MSH-10 (message control id) is empty", "MSH", 10))
    if fields.processing_id and fields.processing_id not in policy.processing_ids:
        issues.append(reject(
            UNSUPPORTED_PROCESSING_ID, f"processing id {shown(fields.processing_id, 'processing_id')} is not accepted", "MSH", 11))
    if not fields.version:
        issues.append(reject(REQUIRED_FIELD_MISSING, "MSH-12 (version id) is empty", "MSH", 12))
    elif fields.version not in policy.versions:
        issues.append(reject(
            UNSUPPORTED_VERSION_ID,
            f"version {shown(fields.version, 'version')} is not supported (accepted: {', '.join(SUPPORTED_VERSIONS)})",
            "MSH", 12))
    return issues


def check_content(msg: Hl7Message, fields: AdtFields) -> list[Hl7Issue]:
    issues: list[Hl7Issue] = []
    if not msg.has("PID"):
        issues.append(error(SEGMENT_SEQUENCE, "PID segment is missing", "PID"))
    elif not fields.patient_ids:
        issues.append(error(REQUIRED_FIELD_MISSING, "PID-3 (patient identifier list) has no identifier", "PID", 3))
    if fields.trigger == "A40":
        if not msg.has("MRG"):
            issues.append(error(SEGMENT_SEQUENCE, "MRG segment is missing (required for A40)", "MRG"))
        elif not fields.prior_patient_ids:
            issues.append(error(REQUIRED_FIELD_MISSING, "MRG-1 (prior patient identifier list) is empty", "MRG", 1))
    elif not msg.has("PV1"):
        issues.append(error(SEGMENT_SEQUENCE, "PV1 segment is missing", "PV1"))
    return issues


def validate(msg: Hl7Message, fields: AdtFields, extract_issues: list[Hl7Issue],
             policy: ValidationPolicy = DEFAULT_POLICY) -> list[Hl7Issue]:
    """All issues, envelope first; when the envelope is refused the content is not examined."""
    structure = check_segments(msg)
    envelope = [i for i in structure if i.reject] + check_envelope(fields, policy) + [i for i in extract_issues if i.reject]
    if envelope:
        return envelope[: policy.max_issues]
    issues = [i for i in structure if not i.reject] + check_content(msg, fields) + extract_issues
    return issues[: policy.max_issues]


def inspect(data: bytes | str, default_tz: tzinfo, policy: ValidationPolicy = DEFAULT_POLICY) -> Inspection:
    """Read, extract and validate. Never raises for bad input: problems come back as issues."""
    try:
        msg = Hl7Message.parse(data)
    except Hl7Error as exc:
        return Inspection(None, None, [exc.issue])
    fields, extract_issues = extract(msg, default_tz)
    return Inspection(msg, fields, validate(msg, fields, extract_issues, policy))
