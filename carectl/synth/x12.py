"""X12 837P (005010X222A1) and 837I (005010X223A2) writers.

One interchange (ISA/IEA) and one functional group (GS/GE) per file; transaction sets
(ST/SE) of at most ``max_claims_per_st`` claims, each claim under its own subscriber HL,
claims grouped under their billing provider's HL in order of first appearance (the relative
order of one provider's claims is kept, so a replacement stays after its original).

X12 has no escape mechanism: text that could hold a delimiter is cleaned before writing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from . import reference as ref
from .claims import Claim

VERSION = {"P": "005010X222A1", "I": "005010X223A2"}
_CLEAN = str.maketrans({"*": " ", "~": " ", ":": " ", "^": " ", "|": " ", "&": " ", "\\": " "})


def clean(text: str) -> str:
    return text.translate(_CLEAN).upper().strip()


def amount(cents: int) -> str:
    """X12 decimal: no trailing zeros after the point (12.5, 100, 0)."""
    whole, frac = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:02d}".rstrip("0")


def d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def isa_segment(sender: str, receiver: str, when: datetime, control: int, usage: str = "P") -> str:
    """The fixed-width ISA (105 characters before the segment terminator)."""
    return (f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15.15}*ZZ*{receiver:<15.15}*"
            f"{when:%y%m%d}*{when:%H%M}*^*00501*{control:09d}*0*{usage}*:")


@dataclass
class FileCounts:
    transactions: int = 0
    segments: int = 0
    claims: int = 0
    lines: int = 0


class X12Writer:
    """Streams claims of one kind (P or I) into one 837 file."""

    def __init__(self, fh: BinaryIO, kind: str, *, control: int, created: datetime,
                 orgs: dict[str, ref.Organisation], people: dict[str, tuple[str, str]],
                 include_paid: bool, line_breaks: bool = True, max_claims_per_st: int = 5000,
                 batch_ref: str = "") -> None:
        if kind not in VERSION:
            raise ValueError("kind must be 'P' or 'I'")
        self.fh = fh
        self.kind = kind
        self.control = control
        self.created = created
        self.orgs = orgs
        self.people = people
        self.include_paid = include_paid
        self.term = "~\n" if line_breaks else "~"
        self.max = max_claims_per_st
        self.batch_ref = batch_ref or f"B{control}"
        self.counts = FileCounts()
        self._pending: list[Claim] = []
        sender, receiver = ref.SUBMITTER[1], ref.RECEIVER[1]
        head = [isa_segment(sender, receiver, created, control),
                f"GS*HC*{sender}*{receiver}*{created:%Y%m%d}*{created:%H%M}*{control}*X*{VERSION[kind]}"]
        self._emit(head)

    def _emit(self, segments: list[str]) -> None:
        t = self.term
        self.fh.write((t.join(segments) + t).encode("ascii", "replace"))

    def add(self, claim: Claim) -> None:
        if claim.kind != self.kind:
            raise ValueError("claim kind does not match the file")
        self._pending.append(claim)
        if len(self._pending) >= self.max:
            self._flush()

    def add_all(self, claims: Iterable[Claim]) -> None:
        for c in claims:
            self.add(c)

    def close(self) -> FileCounts:
        if self._pending or self.counts.transactions == 0:
            self._flush()
        self._emit([f"GE*{self.counts.transactions}*{self.control}", f"IEA*1*{self.control:09d}"])
        return self.counts

    # --- one transaction set --------------------------------------------------------------
    def _flush(self) -> None:
        claims, self._pending = self._pending, []
        self.counts.transactions += 1
        st = f"{self.counts.transactions:04d}"
        when = self.created
        seg: list[str] = [
            f"ST*837*{st}*{VERSION[self.kind]}",
            f"BHT*0019*00*{self.batch_ref}{st}*{when:%Y%m%d}*{when:%H%M}*CH",
            f"NM1*41*2*{ref.SUBMITTER[0]}*****46*{ref.SUBMITTER[1]}",
            "PER*IC*EDI DESK*TE*5555550100",
            f"NM1*40*2*{ref.RECEIVER[0]}*****46*{ref.RECEIVER[1]}",
        ]
        groups: dict[str, list[Claim]] = {}
        for c in claims:
            groups.setdefault(c.billing_npi, []).append(c)
        hl = 0
        for npi, group in groups.items():
            hl += 1
            parent = hl
            org = self.orgs[npi]
            seg += [f"HL*{hl}**20*1", f"NM1*85*2*{clean(org.name)}*****XX*{npi}", f"N3*{clean(org.street)}",
                    f"N4*{clean(org.city)}*{org.state}*{org.zip9}", f"REF*EI*{org.tax_id}"]
            for c in group:
                hl += 1
                seg.append(f"HL*{hl}*{parent}*22*0")
                self._claim(c, seg)
        seg.append(f"SE*{len(seg) + 1}*{st}")
        self.counts.segments += len(seg)
        self.counts.claims += len(claims)
        self._emit(seg)

    def _claim(self, c: Claim, seg: list[str]) -> None:
        s = c.sub
        payer_id, payer_name, filing = ref.PAYERS[s.contract_id]
        paid = self.include_paid
        seg += [
            f"SBR*{'S' if paid else 'P'}*18*******{filing}",
            f"NM1*IL*1*{clean(s.family_name)}*{clean(s.given_name)}****MI*{s.member_id}",
            f"N3*{clean(s.street)}", f"N4*{clean(s.city)}*{s.state}*{s.zip}",
            f"DMG*D8*{d8(s.birth_date)}*{s.sex}",
            f"NM1*PR*2*{clean(payer_name)}*****PI*{payer_id}",
        ]
        total = amount(c.total_charge)
        if self.kind == "P":
            seg.append(f"CLM*{c.claim_id}*{total}***{c.pos}:B:{c.frequency}*Y*A*Y*Y")
        else:
            seg.append(f"CLM*{c.claim_id}*{total}***{c.tob[:2]}:A:{c.frequency}**A*Y*Y")
            seg.append(f"DTP*434*RD8*{d8(c.statement_from)}-{d8(c.statement_to)}")
            if c.admission is not None:
                seg.append(f"DTP*435*DT*{c.admission:%Y%m%d%H%M}")
            seg.append(f"CL1*{c.admission_type}*{c.admission_source}*{c.discharge_status}")
        if c.frequency in ("7", "8"):
            seg.append(f"REF*F8*{c.original_id}")
        dx = c.dx
        if self.kind == "P":
            seg.append("HI*" + "*".join([f"ABK:{dx[0]}"] + [f"ABF:{d}" for d in dx[1:12]]))
        else:
            seg.append(f"HI*ABK:{dx[0]}")
            if c.admission is not None:
                seg.append(f"HI*ABJ:{dx[0]}")
            if len(dx) > 1:
                seg.append("HI*" + "*".join(f"ABF:{d}" for d in dx[1:13]))
        name = self.people.get(c.rendering_npi)
        if self.kind == "P":
            if name:
                seg.append(f"NM1*82*1*{clean(name[0])}*{clean(name[1])}****XX*{c.rendering_npi}")
            else:
                seg.append(f"NM1*82*2*{clean(self.orgs[c.rendering_npi].name)}*****XX*{c.rendering_npi}")
        else:
            fam, giv = name or ("UNKNOWN", "")
            seg.append(f"NM1*71*1*{clean(fam)}*{clean(giv)}****XX*{c.rendering_npi}")
        adjudicated = d8(c.received.date())
        if paid:
            seg += [f"SBR*P*18*******{filing}", f"AMT*D*{amount(c.total_paid)}", "OI***Y***Y",
                    f"NM1*IL*1*{clean(s.family_name)}*{clean(s.given_name)}****MI*{s.member_id}",
                    f"NM1*PR*2*{clean(payer_name)}*****PI*{payer_id}"]
        for (n, code, mods, rev, frm, to, units, charge, allowed, paid_c, _pos, ptrs) in c.lines:
            seg.append(f"LX*{n}")
            proc = ":".join(("HC", code) + mods) if code else ""
            if self.kind == "P":
                ptr = ":".join(str(p) for p in ptrs[:4]) or "1"
                seg.append(f"SV1*{proc}*{amount(charge)}*UN*{units}***{ptr}")
            else:
                basis = "DA" if rev == "0120" else "UN"
                seg.append(f"SV2*{rev}*{proc}*{amount(charge)}*{basis}*{units}")
            seg.append(f"DTP*472*D8*{d8(frm)}" if frm == to else f"DTP*472*RD8*{d8(frm)}-{d8(to)}")
            if paid:
                if self.kind == "P":
                    seg.append(f"SVD*{payer_id}*{amount(paid_c)}*{proc}**{units}")
                else:
                    seg.append(f"SVD*{payer_id}*{amount(paid_c)}*{proc}*{rev}*{units}")
                adj = []
                if charge > allowed:
                    adj.append(f"CAS*CO*45*{amount(charge - allowed)}")
                if allowed > paid_c:
                    adj.append(f"CAS*PR*2*{amount(allowed - paid_c)}")
                seg += adj
                seg.append(f"DTP*573*D8*{adjudicated}")
        self.counts.lines += len(c.lines)
