"""The full parse with python-hl7, for work off the ACK path (audit, enrichment, replay).

``full_parse`` returns python-hl7's ``hl7.Message`` (every field split to subcomponents);
it costs about 0.9 ms a message (see MEASURED.md), so the gateway does not call it.
``extract_full`` reads the same ``AdtFields`` as the light reader from that tree; a unit test
keeps the two in agreement over a corpus with escapes and repetitions.

Where python-hl7 and this service's reader differ by policy, the reader's policy wins so that
both paths give the same values:
- the text is decoded, stripped and its segment separators normalised to CR the same way
  (python-hl7 splits on CR only);
- an empty MSH-2 means ``^~\\&`` and a short MSH-2 declares only the delimiters it lists
  (python-hl7 fills missing ones with defaults, and fails on an empty MSH-2);
- escapes other than \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and ASCII \\Xhh\\ are kept as they are (python-hl7
  drops unknown sequences and logs the field's text, which may be patient data).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

import hl7

from .adt_fields import NULLABLE_PV1, TIMESTAMP_FIELDS, AdtFields, Entry
from .hl7_errors import Hl7Issue
from .hl7_reader import DEFAULT_ENCODING_CHARS, NULL, Hl7Message
from .hl7_time import TimestampError, parse_ts, precision_of

_SENTINELS = "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f"


def _normalised(reader: Hl7Message) -> str:
    """The reader's text with MSH-2 spelled out in full, as python-hl7 needs it."""
    text = "\r".join(reader.segments)
    enc = reader.encoding_chars
    if len(enc) >= 4:
        return text
    full = enc or DEFAULT_ENCODING_CHARS
    if len(full) < 4:  # delimiters not in use: characters that never occur in the text
        spare = [c for c in _SENTINELS if c not in text]
        full += "".join(spare[: 4 - len(full)])
    return text[:4] + full + text[4 + len(enc):]


def full_parse(data: bytes | str) -> hl7.Message:
    """Parse with python-hl7 after the reader's envelope checks (raises ``Hl7Error`` only)."""
    return _parse(data)[1]


def _parse(data: bytes | str) -> tuple[Hl7Message, hl7.Message]:
    reader = Hl7Message.parse(data)
    return reader, hl7.parse(_normalised(reader))


class _Tree:
    """Leaf access on python-hl7's containers with HL7 numbering."""

    def __init__(self, reader: Hl7Message, message: hl7.Message) -> None:
        self.reader = reader
        self.message = message
        self.esc = reader.escape_char
        self._known = re.compile(
            re.escape(self.esc) + r"(?:[FSTRE]|X(?:[0-7][0-9A-Fa-f])+)" + re.escape(self.esc)) if self.esc else None
        self._any = re.compile(re.escape(self.esc) + r"[^" + re.escape(self.esc) + r"]*" + re.escape(self.esc)) if self.esc else None

    def segments(self, name: str) -> list[Any]:
        return [s for s in self.message if str(s[0][0]) == name]

    def segment(self, name: str, occurrence: int = 1) -> Any | None:
        segs = self.segments(name)
        return segs[occurrence - 1] if 0 < occurrence <= len(segs) else None

    def reps(self, seg: Any | None, number: int) -> list[Any]:
        if seg is None or number >= len(seg):
            return []
        field = seg[number]
        if len(field) == 1 and field[0] == "":
            return []
        return list(field)

    @staticmethod
    def part(node: Any, index: int) -> Any:
        if isinstance(node, str):
            return node if index == 1 else ""
        return node[index - 1] if 0 < index <= len(node) else ""

    def leaf(self, rep: Any, component: int = 1, subcomponent: int = 1) -> str:
        if isinstance(rep, hl7.Repetition):
            node = self.part(rep, component)
        else:
            node = rep if component == 1 else ""
        if isinstance(node, hl7.Component):
            node = self.part(node, subcomponent)
        elif subcomponent != 1:
            node = ""
        text = str(node)
        return "" if text == NULL else self.unescape(text)

    def unescape(self, text: str) -> str:
        if not self.esc or self.esc not in text:
            return text
        # python-hl7 where its rules are the reader's; the reader's policy for everything else
        if len(self._known.findall(text)) == len(self._any.findall(text)) and text.count(self.esc) % 2 == 0:
            return self.message.unescape(text)
        return self.reader.unescape(text)

    def value(self, name: str, number: int, component: int = 1, occurrence: int = 1) -> str:
        seg = self.segment(name, occurrence)
        if name == "MSH" and number <= 2:
            return str(seg[number]) if seg is not None else ""
        reps = self.reps(seg, number)
        return self.leaf(reps[0], component) if reps else ""


def _cx(t: _Tree, seg: Any | None, number: int) -> tuple[Entry, ...]:
    out = []
    for rep in t.reps(seg, number):
        ident = t.leaf(rep, 1).strip()
        if ident:
            out.append({"id": ident, "assigning_authority": t.leaf(rep, 4, 1).strip() or t.leaf(rep, 4, 2).strip() or None,
                        "id_type": t.leaf(rep, 5).strip() or None})
    return tuple(out)


def _pl(t: _Tree, seg: Any, number: int) -> Entry | None:
    reps = t.reps(seg, number)
    if not reps:
        return None
    r = reps[0]
    loc = {"facility": t.leaf(r, 4, 1) or t.leaf(r, 4, 2) or None, "point_of_care": t.leaf(r, 1) or None,
           "room": t.leaf(r, 2) or None, "bed": t.leaf(r, 3) or None}
    return loc if any(loc.values()) else None


def extract_full(data: bytes | str, default_tz: tzinfo) -> tuple[AdtFields, list[Hl7Issue]]:
    """``AdtFields`` from python-hl7's parse (raises ``Hl7Error`` when the envelope is unreadable)."""
    reader, message = _parse(data)
    t = _Tree(reader, message)
    msh = t.segment("MSH")

    def hd(number: int) -> str:
        reps = t.reps(msh, number)
        value = (t.leaf(reps[0], 1).strip() or t.leaf(reps[0], 2).strip()) if reps else ""
        return "" if value == NULL else value

    def code(name: str, number: int, component: int = 1) -> str:
        return t.value(name, number, component).strip()

    f = AdtFields(
        sending_application=hd(3), sending_facility=hd(4),
        message_type=code("MSH", 9, 1), trigger=code("MSH", 9, 2) or code("EVN", 1),
        structure=code("MSH", 9, 3), control_id=code("MSH", 10), processing_id=code("MSH", 11),
        version=code("MSH", 12), accept_ack_type=code("MSH", 15), application_ack_type=code("MSH", 16),
        character_set=code("MSH", 18), patient_ids=_cx(t, t.segment("PID"), 3),
        has_pv1=t.segment("PV1") is not None,
    )
    bad = []
    for name, number, attr in TIMESTAMP_FIELDS:
        value = t.value(name, number).strip()
        if value:
            try:
                setattr(f, attr, parse_ts(value, default_tz))
                f.precisions[attr] = precision_of(value)
            except TimestampError:
                bad.append(attr)
    f.bad_times = tuple(bad)
    mrg = t.segment("MRG")
    if mrg is not None:
        f.prior_patient_ids = _cx(t, mrg, 1)
    pv1 = t.segment("PV1")
    if pv1 is not None:
        f.patient_class = t.value("PV1", 2).strip() or None
        f.location = _pl(t, pv1, 3)
        f.prior_location = _pl(t, pv1, 6)
        docs = t.reps(pv1, 7)
        if docs:
            doc = {"id": t.leaf(docs[0], 1) or None, "family_name": t.leaf(docs[0], 2, 1) or None,
                   "given_name": t.leaf(docs[0], 3) or None}
            f.attending = doc if any(doc.values()) else None
        f.visit_number = t.value("PV1", 19).strip() or None
        f.discharge_disposition = t.value("PV1", 36).strip() or None
        f.nulls = tuple(attr for number, attr in NULLABLE_PV1 if number < len(pv1) and str(pv1[number]) == NULL)
    diagnoses = []
    for occ, seg in enumerate(t.segments("DG1"), start=1):
        reps = t.reps(seg, 3)
        code = t.leaf(reps[0], 1) if reps else ""
        if code:
            diagnoses.append({
                "code": code, "system": t.leaf(reps[0], 3) or None,
                "description": t.leaf(reps[0], 2) or t.value("DG1", 4, occurrence=occ) or None,
                "diagnosis_type": t.value("DG1", 6, occurrence=occ) or None,
            })
    f.diagnoses = tuple(diagnoses)
    return f, []
