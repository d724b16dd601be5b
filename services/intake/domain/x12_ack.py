"""999 implementation acknowledgments this service writes itself (pyx12 writes the others).

pyx12 acknowledges the functional groups it validates. The rest gets an answer here:

- a group whose version this service does not read (or whose GS01 is not HC): ``AK9*R`` with
  code 2 (version not supported) or 1 (functional group not supported), each set ``IK5*R*1``;
- every group of a file whose validation could not be completed (pyx12 raised): each set
  ``IK5*R`` and the group ``AK9*R`` - the file was not loaded, the sender must not read silence
  as acceptance.

``Group`` records what a 999 needs from the original envelope; ``build_999`` writes a whole
interchange, ``merge_999`` adds these sets to the one pyx12 wrote (and restores the versions the
validation read under the nearest map).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)  # ISA01..ISA15; ISA16 is one character


@dataclass
class Group:
    """One functional group of the original file, as the 999 echoes it."""

    gs01: str
    gs06: str
    gs08: str
    sets: list[tuple[str, str]] = field(default_factory=list)  # (ST02, ST03)
    reason_code: str = ""  # AK905 for a group refused whole (1 not supported, 2 version not supported)


@dataclass
class Interchange:
    """ISA fields the 999 swaps back to the sender."""

    sender_qual: str = "ZZ"
    sender: str = ""
    receiver_qual: str = "ZZ"
    receiver: str = ""
    usage: str = "P"
    gs02: str = ""
    gs03: str = ""


def isa_segment(values: list[str], element: str = "*", component: str = ":") -> str:
    """An ISA with every element padded to its fixed width (``values``: ISA01..ISA15)."""
    padded = [(v or "")[:w].ljust(w) if i not in (8, 9, 12) else (v or "").strip()[:w].rjust(w, "0")
              for i, (v, w) in enumerate(zip(values, ISA_WIDTHS))]
    return "ISA" + element + element.join(padded) + element + component


def _group_sets(g: Group, st_number: int, code_for_sets: str) -> list[str]:
    segs = [f"ST*999*{st_number:04d}*005010X231A1", f"AK1*{g.gs01 or 'HC'}*{g.gs06}*{g.gs08}"]
    for st02, st03 in g.sets:
        segs.append(f"AK2*837*{st02}" + (f"*{st03}" if st03 else ""))
        segs.append("IK5*R" + (f"*{code_for_sets}" if code_for_sets else ""))
    n = len(g.sets)
    segs.append(f"AK9*R*{n}*{n}*0" + (f"*{g.reason_code}" if g.reason_code else ""))
    segs.append(f"SE*{len(segs) + 1}*{st_number:04d}")
    return segs


def group_sets(g: Group, st_number: int) -> list[str]:
    """The 999 transaction set (ST..SE) refusing group ``g`` whole."""
    return _group_sets(g, st_number, "1" if g.reason_code else "")


def build_999(interchange: Interchange, groups: list[Group], now: datetime | None = None,
              control: int = 1) -> str:
    """A whole 999 interchange refusing every set of ``groups``."""
    now = now or datetime.now(timezone.utc)
    isa = isa_segment(["00", "", "00", "", interchange.receiver_qual, interchange.receiver,
                       interchange.sender_qual, interchange.sender, f"{now:%y%m%d}", f"{now:%H%M}", "^", "00501",
                       f"{control:09d}", "0", interchange.usage or "P"])
    segs = [isa, f"GS*FA*{interchange.gs03}*{interchange.gs02}*{now:%Y%m%d}*{now:%H%M%S}*{control}*X*005010X231A1"]
    for i, g in enumerate(groups, 1):
        segs += group_sets(g, i)
    segs += [f"GE*{len(groups)}*{control}", f"IEA*1*{control:09d}"]
    return "".join(s + "~\n" for s in segs)


def merge_999(ack: str, extra: list[Group], versions: dict[str, str], set_versions: dict[tuple[str, str], str]) -> str:
    """pyx12's 999 with the refused ``extra`` groups added as more sets, and AK103 / AK203
    restored to the versions the sender wrote (``versions``: GS06 -> GS08; ``set_versions``:
    (GS06, ST02) -> ST03) where the validation read them under the nearest map."""
    segs = [s.strip() for s in ack.split("~") if s.strip()]
    out: list[str] = []
    st_count = 0
    gs06 = ""
    for seg in segs:
        parts = seg.split("*")
        sid = parts[0]
        if sid == "ST":
            st_count += 1
        elif sid == "AK1" and len(parts) > 3:
            gs06 = parts[2]
            if gs06 in versions:
                parts[3] = versions[gs06]
        elif sid == "AK2" and len(parts) > 3:
            original = set_versions.get((gs06, parts[2]))
            if original:
                parts[3] = original
        elif sid == "GE" and extra:
            for g in extra:
                st_count += 1
                out += group_sets(g, st_count)
            parts[1] = str(st_count)
        out.append("*".join(parts))
    return "".join(s + "~\n" for s in out)
