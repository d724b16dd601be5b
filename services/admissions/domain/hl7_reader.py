"""A small, lazy HL7 v2 reader for the ACK path.

It reads only what is asked for: segments are split on first use, fields on first access
of their segment, components and escapes only for the value requested. It honours the
message's own delimiters (MSH-1 field separator, MSH-2 component, repetition, escape and
subcomponent characters) and accepts CR, CRLF or LF between segments.

Numbering is HL7's, 1-based: ``msg.value("PID", 3, component=4)`` is PID-3.4; MSH-1 is the
field separator itself and MSH-2 the encoding characters (returned raw, never unescaped).

MSH-2 rules: empty means the standard ``^~\\&``; a short MSH-2 declares only the delimiters
it lists (``^~\\`` has no subcomponent separator, so ``&`` is data); a fifth character (the
v2.7 truncation character) is accepted and ignored; more than five is an error.

Only ``Hl7Error`` leaves ``Hl7Message.parse``; field access never raises (absent is ``""``).
"""

from __future__ import annotations

from .charsets import decode_bytes
from .hl7_errors import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE, Hl7Error, reject

DEFAULT_ENCODING_CHARS = "^~\\&"
NULL = '""'  # HL7's explicit null: "delete the value the receiver holds"
_FORBIDDEN_DELIMITERS = frozenset("\r\n\t \x0b\x1c")
_LEADING_JUNK = "\r\n\t \ufeff"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def decode_message(data: bytes | bytearray | memoryview | str) -> tuple[str, str, str | None]:
    """Bytes → (text, encoding, problem) in the character set MSH-18 declares (``charsets``):
    ASCII as is; else the declared set, bytes invalid in it replaced (problem ``invalid``);
    no or an unknown MSH-18 (problem ``unknown``): UTF-8, else ISO-8859-1, which never fails."""
    if isinstance(data, str):
        return data, "utf-8", None
    return decode_bytes(bytes(data))


def _bad_delimiter(ch: str) -> bool:
    return ch.isalnum() or ch in _FORBIDDEN_DELIMITERS or not ch.isprintable()


class Hl7Message:
    """One HL7 v2 message. Build with :meth:`parse`."""

    __slots__ = (
        "text", "field_sep", "encoding_chars", "component_sep", "repetition_sep", "escape_char",
        "subcomponent_sep", "segments", "encoding", "decode_problem", "repaired", "_index", "_fields", "_escapes",
    )

    def __init__(self, text: str, segments: list[str], field_sep: str, encoding_chars: str,
                 encoding: str = "utf-8", decode_problem: str | None = None, repaired: tuple[str, ...] = ()) -> None:
        self.text = text
        self.encoding = encoding
        self.decode_problem = decode_problem  # None | "invalid" | "unknown" (see charsets.decode_bytes)
        self.repaired = repaired  # what the reader had to repair to read the message ("MSH-2")
        self.segments = segments
        self.field_sep = field_sep
        self.encoding_chars = encoding_chars
        enc = encoding_chars or DEFAULT_ENCODING_CHARS
        n = len(enc)
        self.component_sep = enc[0] if n > 0 else None
        self.repetition_sep = enc[1] if n > 1 else None
        self.escape_char = enc[2] if n > 2 else None
        self.subcomponent_sep = enc[3] if n > 3 else None
        self._index: dict[str, list[int]] | None = None
        self._fields: dict[int, list[str]] = {}
        self._escapes: dict[str, str] | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview | str) -> "Hl7Message":
        """Read the envelope (MSH-1, MSH-2) and the segment boundaries; nothing else yet."""
        text, encoding, problem = decode_message(data)
        text = text.lstrip(_LEADING_JUNK)
        if "\n" in text:
            text = text.replace("\r\n", "\r").replace("\n", "\r")
        if not text.startswith("MSH"):
            what = "a batch header (BHS/FHS); batches are not supported" if text[:3] in ("BHS", "FHS") else (
                "no MSH segment" if text else "an empty message")
            raise Hl7Error(reject(SEGMENT_SEQUENCE, f"the message does not start with an MSH segment: {what}", "MSH"))
        if len(text) < 4 or text[3] == "\r":
            raise Hl7Error(reject(REQUIRED_FIELD_MISSING, "MSH-1 (field separator) is missing", "MSH", 1))
        fs = text[3]
        if _bad_delimiter(fs):
            raise Hl7Error(reject(
                DATA_TYPE_ERROR, "MSH-1 (field separator) must be a printable character that is not a letter, digit or space",
                "MSH", 1))
        end = len(text)
        for stop in (text.find(fs, 4), text.find("\r", 4)):
            if stop != -1 and stop < end:
                end = stop
        enc = text[4:end]
        repaired: tuple[str, ...] = ()
        if len(enc) == 5 and enc[2] == enc[3] == "\\":
            # "^~\\\\&": a doubled escape character (the message went through a string escaper)
            enc, repaired = enc[:3] + enc[4], ("MSH-2",)
        if len(enc) > 5:
            raise Hl7Error(reject(DATA_TYPE_ERROR, "MSH-2 (encoding characters) has more than five characters", "MSH", 2))
        effective = enc[:4] or DEFAULT_ENCODING_CHARS
        if any(_bad_delimiter(c) or c == fs for c in effective) or len(set(effective)) != len(effective):
            raise Hl7Error(reject(
                DATA_TYPE_ERROR,
                "MSH-2 (encoding characters) must be distinct non-alphanumeric characters different from MSH-1",
                "MSH", 2))
        # blank lines and whitespace around segments (trailing spaces, indented files) are not data
        if " \r" in text or "\r " in text or "\t" in text or text[-1:].isspace():
            segments = [seg for s in text.split("\r") if (seg := s.strip())]
        else:  # the usual message: nothing to strip
            segments = [s for s in text.split("\r") if s]
        if repaired:
            segments[0] = "MSH" + fs + enc + segments[0][4 + len(text[4:end]):]
        return cls(text, segments, fs, enc, encoding, problem, repaired)

    # ------------------------------------------------------------------ segments

    def _segment_index(self) -> dict[str, list[int]]:
        index = self._index
        if index is None:
            index = {}
            for i, seg in enumerate(self.segments):
                index.setdefault(seg[:3], []).append(i)
            self._index = index
        return index

    def segment_ids(self) -> list[str]:
        """Segment ids in message order (the first three characters of each segment)."""
        return [s[:3] for s in self.segments]

    def count(self, segment: str) -> int:
        return len(self._segment_index().get(segment, ()))

    def has(self, segment: str) -> bool:
        return segment in self._segment_index()

    def fields_of(self, segment: str, occurrence: int = 1) -> list[str] | None:
        """Raw fields of one segment, indexed by HL7 field number (``[0]`` is the segment id;
        for MSH ``[1]`` is the field separator and ``[2]`` the encoding characters)."""
        positions = self._segment_index().get(segment)
        if not positions or occurrence < 1 or occurrence > len(positions):
            return None
        pos = positions[occurrence - 1]
        fields = self._fields.get(pos)
        if fields is None:
            fields = self.segments[pos].split(self.field_sep)
            if segment == "MSH":
                fields.insert(1, self.field_sep)
            self._fields[pos] = fields
        return fields

    # ------------------------------------------------------------------ fields

    def field(self, segment: str, number: int, occurrence: int = 1) -> str:
        """The raw text of field ``number`` (all repetitions, escapes intact); ``""`` if absent."""
        fields = self.fields_of(segment, occurrence)
        if fields is None or number < 1:
            return ""
        return fields[number] if number < len(fields) else ""

    def repetitions(self, segment: str, number: int, occurrence: int = 1) -> list[str]:
        """Raw repetitions of a field (``[]`` when the field is empty)."""
        raw = self.field(segment, number, occurrence)
        if not raw:
            return []
        if segment == "MSH" and number <= 2:
            return [raw]
        rs = self.repetition_sep
        return raw.split(rs) if rs and rs in raw else [raw]

    @staticmethod
    def _pick(raw: str, sep: str | None, index: int) -> str:
        """Part ``index`` (1-based) of ``raw`` split on ``sep``; ``""`` if absent."""
        if sep and sep in raw:
            parts = raw.split(sep)
            return parts[index - 1] if 0 < index <= len(parts) else ""
        return raw if index == 1 else ""

    def first_repetition(self, raw: str) -> str:
        return self._pick(raw, self.repetition_sep, 1)

    def components(self, raw: str) -> list[str]:
        """Raw components of one repetition."""
        cs = self.component_sep
        return raw.split(cs) if cs and cs in raw else [raw]

    def subcomponent(self, component: str, index: int = 1) -> str:
        """Unescaped subcomponent ``index`` of one raw component."""
        ss = self.subcomponent_sep
        if ss and ss in component:  # the hot path: most components have no subcomponents
            component = self._pick(component, ss, index)
        elif index != 1:
            return ""
        if component == NULL:  # HL7's explicit null is never a value
            return ""
        esc = self.escape_char
        return self.unescape(component) if esc and esc in component else component

    def leaf(self, raw: str, component: int = 1, subcomponent: int = 1) -> str:
        """Unescaped component/subcomponent of one raw repetition; ``""`` if absent."""
        return self.subcomponent(self._pick(raw, self.component_sep, component), subcomponent)

    def value(
        self, segment: str, number: int, component: int = 1, subcomponent: int = 1,
        repetition: int = 1, occurrence: int = 1,
    ) -> str:
        """One unescaped value, e.g. ``value("MSH", 9, 2)`` is the trigger event of MSH-9."""
        if segment == "MSH" and number <= 2:
            return self.field("MSH", number) if component == subcomponent == repetition == 1 else ""
        raw = self.field(segment, number, occurrence)
        return self.leaf(self._pick(raw, self.repetition_sep, repetition), component, subcomponent) if raw else ""

    # ------------------------------------------------------------------ escapes

    def unescape(self, text: str) -> str:
        """Resolve \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and \\Xhh..\\; other sequences are kept as they are."""
        esc = self.escape_char
        if esc is None or esc not in text:
            return text
        table = self._escapes
        if table is None:
            table = {"F": self.field_sep, "E": esc}
            for code, ch in (("S", self.component_sep), ("R", self.repetition_sep), ("T", self.subcomponent_sep)):
                if ch is not None:
                    table[code] = ch
            self._escapes = table
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            j = text.find(esc, i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            k = text.find(esc, j + 1)
            if k < 0:  # an escape character with no closing one is data
                out.append(text[j:])
                break
            seq = text[j + 1:k]
            rep = table.get(seq)
            if rep is None:
                rep = _hex(seq) if seq[:1] == "X" else None
                if rep is None:
                    rep = text[j:k + 1]
            out.append(rep)
            i = k + 1
        return "".join(out)

    def escape(self, text: str) -> str:
        """Inverse of :meth:`unescape` for the delimiters (used for texts written into ACKs).

        Without an escape character a delimiter cannot be written, so it is replaced by a space.
        """
        esc = self.escape_char
        pairs = [(self.field_sep, "F"), (self.component_sep, "S"), (self.repetition_sep, "R"),
                 (self.subcomponent_sep, "T")]
        text = text.replace("\r", " ").replace("\n", " ")
        if esc is None:
            for ch, _ in pairs:
                if ch:
                    text = text.replace(ch, " ")
            return text
        out = []
        mapping = {ch: f"{esc}{code}{esc}" for ch, code in pairs if ch}
        mapping[esc] = f"{esc}E{esc}"
        for c in text:
            out.append(mapping.get(c, c))
        return "".join(out)


def _hex(seq: str) -> str | None:
    digits = seq[1:]
    if not digits or len(digits) % 2 or not _HEX_DIGITS.issuperset(digits):
        return None
    data = bytes.fromhex(digits)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
