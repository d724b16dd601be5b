"""Validation of an inbound ADT message, producing HL7 error information for the ACK.

What is refused and how (table 0357 code; ACK in original mode / enhanced mode; ERR-2). In
enhanced mode a refusal is CR, or CA followed by an application AE/AR when MSH-16 asks for
application acknowledgments; CE only ever means "not stored, send it again" (207). Everything
else a real feed gets wrong in an optional field is a warning, not a refusal (``leniency``).

| problem                                                   | code | ACK     | location   |
|-----------------------------------------------------------|------|---------|------------|
| no MSH first (empty, garbage, batch header)               | 100  | AR / CR | MSH        |
| a second MSH in the frame (two messages in one frame)     | 100  | AR / CR | MSH(2)     |
| MSH-1 missing, or a letter/digit/space/control character  | 101/102 | AR / CR | MSH-1   |
| MSH-2 longer than 5, repeated or alphanumeric characters  | 102  | AR / CR | MSH-2      |
| no sender identity (MSH-4, MSH-3, certificate, listener)  | 101  | AR / CR | MSH-4      |
| MSH-9 or MSH-10 empty                                     | 101  | AR / CR | MSH-n      |
| message type other than ADT (e.g. ORU)                    | 200  | AR / CR | MSH-9      |
| no trigger event (MSH-9.2 and EVN-1 empty)                | 101  | AR / CR | MSH-9.2    |
| trigger not in the supported list (e.g. A99)              | 201  | AR / CR | MSH-9.2    |
| MSH-11 processing id not accepted                         | 202  | AR / CR | MSH-11     |
| MSH-12 not an HL7 v2 version (3.0, text)                  | 203  | AR / CR | MSH-12     |
| a segment after MSH without a valid segment id (binary)   | 100  | AE / CR | (none)     |
| PID, PV1 (triggers with a visit), MRG (A40) missing       | 100  | AE / CR | PID …      |
| PID-3 without any usable identifier; MRG-1 empty on A40   | 101  | AE / CR | PID-3      |
| EVN-2 unreadable and no readable EVN-6                    | 102  | AE / CR | EVN-2      |
| no event time at all (EVN-6, EVN-2, PV1-44/45, MSH-7)     | 101  | AE / CR | EVN-2      |
| a warning, from a sender in strict mode                   | 101/102/103 | AE / CR | the field |
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

from shared.events import SUPPORTED_TRIGGERS_V2

from .adt_fields import AdtFields, hierarchic_designator, extract
from .hl7_errors import (
    REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE, UNSUPPORTED_EVENT_CODE, UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_PROCESSING_ID, UNSUPPORTED_VERSION_ID, Hl7Error, Hl7Issue, error, reject,
)
from .hl7_reader import Hl7Message
from .leniency import KNOWN_VERSIONS, PV1_OPTIONAL, Assessment, Quirk, assess
from .senders import LENIENT_DEFAULTS, Sender, SenderBook

SUPPORTED_VERSIONS: tuple[str, ...] = KNOWN_VERSIONS
_V2 = re.compile(r"2\.[0-9]{1,2}(\.[0-9]{1,2})?")
_ID_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ID_REST = _ID_FIRST | frozenset("0123456789")


@dataclass(frozen=True)
class ValidationPolicy:
    """What this interface accepts. The wiring step fills it from settings."""

    versions: frozenset[str] | None = None  # None: any HL7 v2 version (unlisted ones with a warning)
    message_types: frozenset[str] = frozenset({"ADT"})
    triggers: frozenset[str] = frozenset(SUPPORTED_TRIGGERS_V2)
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
    assessment: Assessment | None = None  # warnings, event time, sender (when the envelope was read)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def sender(self) -> Sender | None:
        return self.assessment.sender if self.assessment else None

    @property
    def warnings(self) -> list[Quirk]:
        return self.assessment.warnings if self.assessment else []


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


def check_envelope(fields: AdtFields, policy: ValidationPolicy, sender: Sender | None = None) -> list[Hl7Issue]:
    issues: list[Hl7Issue] = []
    if sender is None:
        issues.append(reject(REQUIRED_FIELD_MISSING, "no sender identity: MSH-4 (sending facility) and MSH-3 are "
                             "empty and the connection names no facility", "MSH", 4))
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
            issues.append(reject(REQUIRED_FIELD_MISSING, "no trigger event: MSH-9.2 and EVN-1 are empty", "MSH", 9,
                                 component=2))
        elif fields.trigger not in policy.triggers:
            issues.append(reject(
                UNSUPPORTED_EVENT_CODE, f"trigger event {shown(fields.trigger, 'trigger')} is not supported",
                "MSH", 9, component=2))
    if not fields.control_id:
        issues.append(reject(REQUIRED_FIELD_MISSING, "MSH-10 (message control id) is empty", "MSH", 10))
    if fields.processing_id and fields.processing_id not in policy.processing_ids:
        issues.append(reject(
            UNSUPPORTED_PROCESSING_ID, f"processing id {shown(fields.processing_id, 'processing_id')} is not accepted", "MSH", 11))
    version = fields.version
    if version and ((version not in SUPPORTED_VERSIONS and not _V2.fullmatch(version))
                    or (policy.versions is not None and version not in policy.versions)):
        issues.append(reject(
            UNSUPPORTED_VERSION_ID,
            f"version {shown(fields.version, 'version')} is not supported (accepted: HL7 v2, "
            f"{SUPPORTED_VERSIONS[0]} to {SUPPORTED_VERSIONS[-1]})",
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
    elif not msg.has("PV1") and fields.trigger not in PV1_OPTIONAL:
        issues.append(error(SEGMENT_SEQUENCE, f"PV1 segment is missing (required for {shown(fields.trigger)})", "PV1"))
    return issues


def validate(msg: Hl7Message, fields: AdtFields, extract_issues: list[Hl7Issue],
             policy: ValidationPolicy = DEFAULT_POLICY, sender: Sender | None = None,
             assessment: Assessment | None = None) -> list[Hl7Issue]:
    """All issues, envelope first; when the envelope is refused the content is not examined."""
    structure = check_segments(msg)
    envelope = [i for i in structure if i.reject] + check_envelope(fields, policy, sender) + \
        [i for i in extract_issues if i.reject]
    if envelope:
        return envelope[: policy.max_issues]
    issues = [i for i in structure if not i.reject] + check_content(msg, fields) + extract_issues
    if assessment is not None:
        issues += assessment.issues
    return issues[: policy.max_issues]


def identify(msg: Hl7Message, senders: SenderBook, tls_cn: str | None = None,
             fields: AdtFields | None = None) -> Sender | None:
    """The sender of a parsed message (MSH-4, MSH-3, certificate, listener; see ``senders``);
    ``fields``: MSH-3/MSH-4 already read."""
    if fields is not None:
        return senders.resolve(fields.sending_facility, fields.sending_application, tls_cn)
    msh = msg.fields_of("MSH") or []
    return senders.resolve(hierarchic_designator(msg, msh[4] if len(msh) > 4 else ""),
                           hierarchic_designator(msg, msh[3] if len(msh) > 3 else ""), tls_cn)


def inspect(data: bytes | str, default_tz: tzinfo, policy: ValidationPolicy = DEFAULT_POLICY,
            senders: SenderBook = LENIENT_DEFAULTS, tls_cn: str | None = None) -> Inspection:
    """Read, extract, judge and validate. Never raises for bad input: problems come back as
    issues, odd optional fields as warnings (``Inspection.warnings``)."""
    try:
        msg = Hl7Message.parse(data)
    except Hl7Error as exc:
        return Inspection(None, None, [exc.issue])
    if senders.zoned:  # a sender has its own time zone: identify it before reading the times
        sender = identify(msg, senders, tls_cn)
        tz = sender.policy.tz if sender is not None and sender.policy.tz is not None else default_tz
        fields, extract_issues = extract(msg, tz)
    else:
        fields, extract_issues = extract(msg, default_tz)
        sender = identify(msg, senders, tls_cn, fields)
    if sender is not None:
        fields.sending_facility = sender.facility
    assessment = assess(msg, fields, sender)
    return Inspection(msg, fields, validate(msg, fields, extract_issues, policy, sender, assessment), assessment)
