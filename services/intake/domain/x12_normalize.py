"""The copy of an 837 that pyx12's validating walk reads.

pyx12 wants a fixed-width ISA at the first byte, one set of delimiters, ASCII, upper-case
segment ids and a map for every group's version; real files break each of these (and pyx12
then raises instead of answering). The copy holds the same segments, in the same order and
with the same values, written so pyx12 can read them:

- read by the lenient tokenizer (``x12_tokens``): byte-order mark, leading whitespace, blank
  segments and terminator variants gone; the ISA padded to its fixed width; every interchange
  written with the first one's delimiters (composites split with the separator the sender
  really used);
- ISA12 set to 00501 (the control map pyx12 picks by it; only 5010 groups are validated);
- a supported version without a pyx12 map (005010X222A2, 005010X223A1/A3) written as the
  nearest map's in GS08 and ST03 (the 999 gets the sender's versions back, ``x12_ack``);
- groups this service does not read (another version, GS01 not HC) left out: ``x12_ack``
  refuses them in the 999.

Segment positions inside a transaction set are unchanged, so the validation report's segment
numbers are the file's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .x12_ack import Group, Interchange, isa_segment
from .x12_tokens import Tokens
from .x12_versions import NEAREST_MAP, SUPPORTED, normalize


@dataclass
class Normalized:
    validated: list[Group] = field(default_factory=list)  # groups written to the copy
    refused: list[Group] = field(default_factory=list)  # groups left out (refused in the 999)
    interchange: Interchange = field(default_factory=Interchange)
    original_versions: dict[str, str] = field(default_factory=dict)  # GS06 -> GS08 as sent (rewritten ones)
    original_set_versions: dict[tuple[str, str], str] = field(default_factory=dict)  # (GS06, ST02) -> ST03 sent
    notes: list[str] = field(default_factory=list)
    timed_out: bool = False

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _family(version: str) -> str:
    return version[:10]  # 005010X222 / 005010X223


def _v(els: list[list[str]], i: int) -> str:
    return els[i - 1][0].strip() if i <= len(els) and els[i - 1] else ""


def normalize_for_pyx12(fh: TextIO, out: Path, deadline: float | None = None) -> Normalized:
    """Write the pyx12 copy of ``fh`` to ``out``; what was changed is in the result's notes.
    Raises ``X12FormatError`` when the stream is not X12 at all."""
    tokens = Tokens(fh)
    d = tokens.delimiters
    ele, sub = d.element, d.component
    term = "~\n" if d.segment == "\n" else d.segment + "\n"
    if d.segment == "\n" and ("~" in (ele, sub)):
        term = "\n"
    norm = Normalized()
    first_isa = True
    skipping: Group | None = None
    group: Group | None = None
    rewrite: str | None = None  # the map version GS08 / ST03 are written as, in this group
    groups_written = 0
    dropped = False
    outside = Group("", "", "")  # sets before any GS: written as they are (pyx12 refuses them)
    with out.open("w", encoding="latin-1", newline="") as w:
        for n, (sid, els, _line) in enumerate(tokens):
            if deadline is not None and n % 1000 == 0 and time.monotonic() > deadline:
                norm.timed_out = True
                break
            if sid == "ISA":
                values = [c[0] for c in els][:15]
                if len(values) > 11 and values[11] != "00501":
                    norm.note("ISA12 is not 00501: validated as a 5010 interchange")
                    values[11] = "00501"
                if first_isa:
                    norm.interchange = Interchange(values[4].strip() or "ZZ", values[5].strip(), values[6].strip() or "ZZ",
                                                   values[7].strip(), values[14].strip() or "P")
                    first_isa = False
                w.write(isa_segment(values, ele, sub) + term)
                groups_written, dropped = 0, False
                continue
            if sid == "GS":
                gs01, gs06, gs08 = _v(els, 1).upper(), _v(els, 6), _v(els, 8)
                version = normalize(gs08)
                if not norm.interchange.gs02:
                    norm.interchange.gs02, norm.interchange.gs03 = _v(els, 2), _v(els, 3)
                g = Group(gs01, gs06, gs08)
                if gs01 != "HC" or version not in SUPPORTED:
                    g.reason_code = "1" if gs01 != "HC" else "2"
                    norm.refused.append(g)
                    skipping, group, dropped = g, None, True
                    continue
                skipping, group = None, g
                norm.validated.append(g)
                target = NEAREST_MAP[version]
                rewrite = target if target != version else None
                if rewrite:
                    norm.original_versions[gs06] = gs08
                    norm.note(f"{version} validated with pyx12's {target} map (pyx12 has no {version} map; the "
                              "errata's changes are not checked)")
                    els = [list(c) for c in els]
                    els[7] = [target]
                groups_written += 1
            elif sid == "GE":
                if skipping is not None:
                    skipping = None
                    continue
                group, rewrite = None, None
            elif sid == "IEA":
                skipping, group, rewrite = None, None, None
                if dropped:
                    els = [[str(groups_written)]] + [list(c) for c in els[1:]]
            elif skipping is not None:
                if sid == "ST":
                    skipping.sets.append((_v(els, 2), _v(els, 3)))
                continue
            elif sid == "ST":
                st02, st03 = _v(els, 2), _v(els, 3)
                (group or outside).sets.append((st02, st03))
                if group is None and outside not in norm.validated:
                    norm.validated.append(outside)
                if rewrite and st03 and normalize(st03) in SUPPORTED and _family(normalize(st03)) == _family(rewrite):
                    norm.original_set_versions[(group.gs06 if group else "", st02)] = st03
                    els = [list(c) for c in els]
                    els[2] = [rewrite]
            w.write(sid + (ele + ele.join(sub.join(c) for c in els) if els else "") + term)
    for note in tokens.notes:
        norm.note(f"normalized for validation: {note}")
    return norm
