"""X12 tokens and envelope checks for the fast 837 path.

Tokenizing: pyx12's ``RawX12File`` reads the ISA segment, takes the file's own delimiters
from it (segment terminator, element and sub-element separators) and splits the stream
into segments, a buffer at a time. Elements are split here on the delimiters it reports:
building pyx12 ``Segment`` objects (``X12Reader``) cost about 12 µs a segment, which capped
the 837 path near 80,000 segments/s (the synthetic files run 13 segments per service line);
splitting the text costs about 1 µs.

Envelope checks: the ones pyx12's ``X12Reader`` makes, with its error codes - SE01 segment
count, SE02 = ST02, ST02 unique in the group, GE01 / GE02, IEA01 / IEA02, unique GS06 and
ISA13, unterminated loops and missing trailers at the end of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

import pyx12.errors
from pyx12.rawx12file import RawX12File

Elements = list[list[str]]  # element n at index n-1, each the list of its sub-elements
EnvelopeError = tuple[str, str, str]  # (isa | gs | st, code, text) like pyx12's error tuples


class Tokens:
    """Segments of an X12 stream as ``(segment id, elements, raw text)``.

    Raises ``pyx12.errors.X12Error`` when the stream does not start with a valid ISA."""

    def __init__(self, fh: TextIO) -> None:
        self.raw = RawX12File(fh)
        seg_term, ele_term, subele_term, _eol, _rep = self.raw.get_term()
        self.seg_term = seg_term
        self.ele_term = ele_term
        self.subele_term = subele_term

    def __iter__(self) -> Iterator[tuple[str, Elements, str]]:
        ele, sub = self.ele_term, self.subele_term
        for line in self.raw:
            line = line.lstrip()
            parts = line.split(ele)
            sid = parts[0]
            if sid == "ISA":
                # ISA16 is the sub-element separator itself: never split it.
                yield sid, [[p] for p in parts[1:]], line
            else:
                yield sid, [p.split(sub) for p in parts[1:]], line


def _value(els: Elements, i: int) -> str:
    if i <= len(els) and els[i - 1]:
        return els[i - 1][0].strip()
    return ""


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


class EnvelopeChecker:
    """Tracks ISA/GS/ST loops and counts; ``check(sid, els)`` returns the errors a segment
    reveals, ``finish()`` those of loops left open at the end."""

    def __init__(self) -> None:
        self.loops: list[tuple[str, str]] = []
        self.isa_ids: set[str] = set()
        self.gs_ids: set[str] = set()
        self.st_ids: set[str] = set()
        self.gs_count = 0
        self.st_count = 0
        self.seg_count = 0

    def check(self, sid: str, els: Elements) -> list[EnvelopeError]:
        errs: list[EnvelopeError] = []
        if sid == "ISA":
            if len(els) != 16:
                raise pyx12.errors.X12Error("the ISA segment must have 16 elements")
            ctl = _value(els, 13)
            if ctl in self.isa_ids:
                errs.append(("isa", "025", f"ISA Interchange Control Number {ctl} not unique within file"))
            self.isa_ids.add(ctl)
            self.loops.append(("ISA", ctl))
            self.gs_count = 0
            self.gs_ids = set()
        elif sid == "GS":
            ctl = _value(els, 6)
            if ctl in self.gs_ids:
                errs.append(("gs", "6", f"GS Interchange Control Number {ctl} not unique within file"))
            self.gs_count += 1
            self.gs_ids.add(ctl)
            self.loops.append(("GS", ctl))
            self.st_count = 0
            self.st_ids = set()
        elif sid == "ST":
            ctl = _value(els, 2)
            if ctl in self.st_ids:
                errs.append(("st", "23", f"ST Interchange Control Number {ctl} not unique within file"))
            self.st_count += 1
            self.st_ids.add(ctl)
            self.loops.append(("ST", ctl))
            self.seg_count = 1
        elif sid == "SE":
            ctl = _value(els, 2)
            top = self.loops[-1] if self.loops else ("", "")
            if top[0] != "ST" or top[1] != ctl:
                errs.append(("st", "3", f"SE id={ctl} does not match ST id={top[1]}"))
            if _int(_value(els, 1)) != self.seg_count + 1:
                errs.append(("st", "4", f"SE count of {_value(els, 1)} for SE02={ctl} is wrong. "
                                        f"I count {self.seg_count + 1}"))
            if top[0] == "ST":
                self.loops.pop()
        elif sid == "GE":
            if self.loops and self.loops[-1][0] != "GS":
                errs.append(("gs", "3", f"Unterminated segment {self.loops[-1][1]}"))
                self.loops.pop()
            top = self.loops[-1] if self.loops else ("", "")
            if top[1] != _value(els, 2):
                errs.append(("gs", "4", f"GE id={_value(els, 2)} does not match GS id={top[1]}"))
            if _int(_value(els, 1)) != self.st_count:
                errs.append(("gs", "5", f"GE count of {_value(els, 1)} for GE02={_value(els, 2)} is wrong. "
                                        f"I count {self.st_count}"))
            if self.loops:
                self.loops.pop()
        elif sid == "IEA":
            if self.loops and self.loops[-1][0] != "ISA":
                errs.append(("isa", "024", f"Unterminated Loop {self.loops[-1][0]}"))
                self.loops.pop()
            top = self.loops[-1] if self.loops else ("", "")
            if top[1] != _value(els, 2):
                errs.append(("isa", "001", f"IEA id={_value(els, 2)} does not match ISA id={top[1]}"))
            if _int(_value(els, 1)) != self.gs_count:
                errs.append(("isa", "021", f"IEA count for IEA02={_value(els, 2)} is wrong"))
            if self.loops:
                self.loops.pop()
        else:
            self.seg_count += 1
        return errs

    def finish(self) -> list[EnvelopeError]:
        errs: list[EnvelopeError] = []
        for seg, ctl in self.loops:
            if seg == "ST":
                errs.append(("st", "2", f'Mandatory segment "Transaction Set Trailer" (SE={ctl}) missing'))
            elif seg == "GS":
                errs.append(("gs", "3", f'Mandatory segment "Functional Group Trailer" (GE={ctl}) missing'))
            elif seg == "ISA":
                errs.append(("isa", "023", f'Mandatory segment "Interchange Control Trailer" (IEA={ctl}) missing'))
        self.loops = []
        return errs
