"""X12 tokens: the file's own delimiters, read the way real senders write them.

The ISA segment declares the delimiters: the character after ``ISA`` separates elements,
ISA16 is the component separator and the character after it ends segments. The standard
makes the ISA fixed-width (106 characters); real files are not always so tidy, and this
reader accepts (each noted for the report's warnings):

- a UTF-8 byte-order mark and whitespace before ``ISA``;
- an ISA whose elements are not padded to their fixed widths (read by its separators);
- segment terminators ``~``, ``~`` + newline, ``~`` + CR LF, a bare newline or CR LF, any
  other character (binary delimiters 0x1C-0x1F included), and line breaks anywhere in a
  ``~``-terminated file (fixed-width "wrapped" files): CR and LF are not data in X12;
- blank segments (``~~``, blank lines), whitespace around segments, a last segment without
  its terminator at the end of the file;
- lower-case segment identifiers;
- composites written with another separator than the ISA16 one (``HC>99213`` in a file
  declaring ``:``), found on the first claim, diagnosis or service-line composite;
- several interchanges in one file, each with its own delimiters.

A stream that is not X12 at all raises ``X12FormatError`` (a ``pyx12.errors.X12Error``) with a
reason that names what is missing, never the file's content.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import pyx12.errors

Elements = list[list[str]]  # element n at index n-1, each the list of its sub-elements

BUFFER = 64 * 1024
HEAD = 8 * 1024
REST_LIMIT = 900_000  # text kept for a dead letter (the broker's default 1 MB message size)
_BOMS = ("\ufeff", "\xef\xbb\xbf")  # a BOM read as UTF-8, or as Latin-1 bytes
_UTF16 = ("\xff\xfe", "\xfe\xff", "\ufffe")
_SPACE = " \t\r\n\f\v"
# Segments whose first composite tells which component separator the sender really used:
# (segment id, element position, the composite always has 2+ components).
_COMPOSITES = {"CLM": 5, "HI": 1, "SV1": 1}
_ALT_SEPARATORS = ":>^|\\!`@"


def _starts_isa(text: str) -> bool:
    return len(text) > 3 and text[:3].upper() == "ISA" and not text[3].isalnum() and text[3] not in _SPACE


class X12FormatError(pyx12.errors.X12Error):
    """The stream cannot be read as X12; ``str(exc)`` says why without quoting the content.
    ``rest``: for an unreadable ISA inside the file, the text from it on (dead-letter only)."""

    def __init__(self, reason: str, rest: str | None = None) -> None:
        super().__init__(reason)
        self.rest = rest


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    segment: str  # "\n" for newline-terminated files (CR LF included)
    repetition: str | None

    @property
    def strip(self) -> str:
        """Characters stripped around a segment: whitespace that is not a delimiter."""
        return "".join(c for c in _SPACE if c not in (self.element, self.component))


_KNOWN_SIDS = ("GS", "ST", "BHT", "NM1", "HL", "CLM", "SE", "GE", "IEA", "UNA", "UNB", "MSH")


def describe_start(text: str) -> str:
    """What a file starts with, in words safe for a report: a known segment id, never data."""
    head = text.lstrip(_SPACE)
    for sid in _KNOWN_SIDS:
        if head.upper().startswith(sid) and len(head) > len(sid) and not head[len(sid)].isalnum():
            return f"the file starts with '{sid}'"
    return "the file does not start with ISA"


def parse_isa(text: str) -> tuple[Delimiters, list[str], int, list[str]]:
    """(delimiters, ISA01..ISA16 values, characters consumed, notes) for ``text`` starting
    with ``ISA``; ``X12FormatError`` when it is not a readable ISA."""
    if len(text) < 4 or text[:3].upper() != "ISA":
        raise X12FormatError("no ISA interchange header: " + describe_start(text))
    ele = text[3]
    if ele.isalnum() or ele in _SPACE:
        raise X12FormatError("the ISA segment has no usable element separator after 'ISA'")
    pos, seps = 3, [3]
    while len(seps) < 16:
        pos = text.find(ele, pos + 1, 400)
        if pos < 0:
            raise X12FormatError("the ISA segment does not have its 16 elements")
        seps.append(pos)
    last = seps[-1]
    if last + 2 >= len(text):
        raise X12FormatError("the ISA segment ends before its component separator (ISA16) and segment terminator")
    component, term = text[last + 1], text[last + 2]
    consumed = last + 3
    if term == "\r" and text[last + 3:last + 4] == "\n":
        consumed += 1
    if term in "\r\n":
        term = "\n"
    if component.isalnum() or component == ele or term.isalnum() or term in (ele, component) or term == " ":
        raise X12FormatError("the ISA segment's component separator (ISA16) or segment terminator is missing "
                             "or is a letter, digit or space")
    values = [text[a + 1:b] for a, b in zip(seps, seps[1:])] + [component]
    notes = []
    if last != 103:
        notes.append(f"the ISA segment is {last + 2} characters, not the fixed 106: read by its separators")
    rep = values[10] if values[11] >= "00402" and not values[10].isalnum() and values[10] not in (ele, component,
                                                                                                 term) else None
    return Delimiters(ele, component, term, rep), values, consumed, notes


class Tokens:
    """Segments of an X12 stream as ``(segment id, elements, text)``; ``notes`` collects what
    the sender did out of the standard (for warnings).

    Raises ``X12FormatError`` when the stream does not start with a readable ISA."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self.notes: list[str] = []
        head = fh.read(HEAD)
        if head.startswith(_UTF16):
            raise X12FormatError("the file is UTF-16 encoded; X12 files are ASCII (or UTF-8)")
        for bom in _BOMS:
            if head.startswith(bom):
                head = head[len(bom):]
                self.notes.append("the file starts with a UTF-8 byte-order mark (ignored)")
                break
        stripped = head.lstrip(_SPACE + "\x00")
        if len(stripped) != len(head) and stripped:
            self.notes.append("whitespace before the ISA segment (ignored)")
        head = stripped
        while len(head) < 400:  # a short read (pipes): the ISA needs its 106 characters
            more = fh.read(HEAD)
            if not more:
                break
            head += more
        self.delimiters, self.isa, used, notes = parse_isa(head)
        self.notes += notes
        self._rest = head[used:]
        self.isa_text = head[:used].rstrip(_SPACE).rstrip(self.delimiters.segment)

    # pyx12-style names, kept for callers and tests
    @property
    def seg_term(self) -> str:
        return self.delimiters.segment

    @property
    def ele_term(self) -> str:
        return self.delimiters.element

    @property
    def subele_term(self) -> str:
        return self.delimiters.component

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def __iter__(self) -> Iterator[tuple[str, Elements, str]]:
        d = self.delimiters
        yield "ISA", [[p] for p in self.isa], self.isa_text
        pending = self._rest
        while True:
            restart = yield from self._interchange(d, pending)
            if restart is None:
                return
            while len(restart) < 400 and (more := self._fh.read(HEAD)):
                restart += more
            try:
                d, values, used, notes = parse_isa(restart)
            except X12FormatError as exc:
                rest = restart + self._fh.read(REST_LIMIT)
                raise X12FormatError(f"an ISA segment inside the file cannot be read ({exc})",
                                     rest=rest[:REST_LIMIT]) from None
            for n in notes:
                self._note(n)
            self.delimiters = d
            isa_text = restart[:used].rstrip(_SPACE).rstrip(d.segment)
            yield "ISA", [[p] for p in values], isa_text
            pending = restart[used:]

    def _interchange(self, d: Delimiters, pending: str):
        """Segments until the end of the stream (returns None) or until an ISA that starts
        another interchange (returns the text from that ISA on, delimiters to be read again)."""
        ele, term, strip = d.element, d.segment, d.strip
        sub = d.component
        newline_terminated = term == "\n"
        checked = False
        tries = 0
        read = self._fh.read
        carry = ""
        chunk = pending
        unterminated = False
        while True:
            if not chunk:
                chunk = read(BUFFER)
                if not chunk:
                    break
            if not newline_terminated and ("\n" in chunk or "\r" in chunk):
                chunk = chunk.replace("\r", "").replace("\n", "")
            pieces = (carry + chunk).split(term)
            carry = pieces.pop()
            chunk = ""
            if not pieces and len(carry) >= 400 and _starts_isa(carry.lstrip(strip)):
                # An ISA not followed by this interchange's terminator: the next interchange has its own
                return carry.lstrip(strip)
            for i, piece in enumerate(pieces):
                line = piece.strip(strip)
                if not line:
                    continue
                if _starts_isa(line):
                    return term.join([line, *pieces[i + 1:], carry])
                parts = line.split(ele)
                sid = parts[0].upper()
                if sid != parts[0]:
                    self._note("lower-case segment identifiers (read as upper case)")
                if not checked and sid in _COMPOSITES:
                    tries += 1
                    found = self._component(parts, _COMPOSITES[sid], sub, d)
                    if found is not None:
                        checked = True
                        if found != sub:
                            sub = found
                            self._note(f"composites use '{found}' although ISA16 declares '{d.component}': "
                                       f"read with '{found}'")
                    elif tries > 50:
                        checked = True
                yield sid, [p.split(sub) for p in parts[1:]], line
        last = carry.strip(strip)
        if last:
            if _starts_isa(last):
                return last
            unterminated = True
            parts = last.split(ele)
            sid = parts[0].upper()
            yield sid, [p.split(sub) for p in parts[1:]], last
        if unterminated and term != "\n":
            self._note("the last segment has no segment terminator (read anyway)")
        return None

    @staticmethod
    def _component(parts: list[str], pos: int, sub: str, d: Delimiters) -> str | None:
        """The component separator the sender used in this composite, or None if it cannot tell."""
        if len(parts) <= pos:
            return None
        value = parts[pos]
        if sub in value:
            return sub
        for alt in _ALT_SEPARATORS:
            if alt in value and alt not in (d.element, d.segment, d.repetition or "") and value.index(alt) <= 3:
                return alt
        return None
