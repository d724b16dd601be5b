"""HL7 error information: what is wrong, where (for ERR-2), and how the ACK answers it.

Codes are HL7 table 0357 (message error condition codes). ``reject`` marks problems with
the message envelope (MSH, framing, structure before MSH can be read): the ACK is AR
(original mode) / CR (enhanced mode). Everything else is AE in original mode; in enhanced mode
a content problem is CR too (or CA and an application AE when MSH-16 asks for application
acknowledgments), and CE only means "not stored, send it again" (code 207).

Texts name the field and the problem, never a value taken from the patient's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import InvalidEvent

SEGMENT_SEQUENCE = 100
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT_CODE = 201
UNSUPPORTED_PROCESSING_ID = 202
UNSUPPORTED_VERSION_ID = 203
APPLICATION_INTERNAL_ERROR = 207

CODE_TEXT: dict[int, str] = {
    SEGMENT_SEQUENCE: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION_ID: "Unsupported version id",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}


@dataclass(frozen=True, slots=True)
class Hl7Issue:
    """One problem with a message, located for ERR-2 (segment, occurrence, field, repetition,
    component; 0 means "not applicable")."""

    code: int
    text: str
    segment: str = ""
    field: int = 0
    occurrence: int = 1
    repetition: int = 0
    component: int = 0
    reject: bool = False

    @property
    def code_text(self) -> str:
        return CODE_TEXT.get(self.code, "Error")

    @property
    def where(self) -> str:
        """``PID-3``, ``MSH-9.2``, ``DG1(2)-3`` or the segment id alone."""
        if not self.segment:
            return ""
        s = self.segment if self.occurrence <= 1 else f"{self.segment}({self.occurrence})"
        if self.field:
            s += f"-{self.field}"
            if self.component:
                s += f".{self.component}"
        return s

    def describe(self) -> str:
        """One line for dead-letter reasons and logs (no patient values)."""
        where = self.where
        return f"{self.code} {self.code_text}" + (f" at {where}" if where else "") + f": {self.text}"


class Hl7Error(InvalidEvent):
    """The message cannot be read (raised by the reader); carries the issue for the NAK."""

    def __init__(self, issue: Hl7Issue) -> None:
        super().__init__(issue.describe(), field=issue.where or None)
        self.issue = issue


def reject(code: int, text: str, segment: str = "", field: int = 0, **kw: int) -> Hl7Issue:
    """An envelope problem: AR / CR."""
    return Hl7Issue(code, text, segment, field, reject=True, **kw)


def error(code: int, text: str, segment: str = "", field: int = 0, **kw: int) -> Hl7Issue:
    """A content problem: AE / CE."""
    return Hl7Issue(code, text, segment, field, **kw)
