"""Small 837P (005010X222A1) files for the gaps tests, with correct envelope counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class Line:
    code: str
    day: date
    charge: str = "100"
    pos: str = "11"
    modifiers: tuple[str, ...] = ()


@dataclass
class Claim:
    member_id: str
    claim_id: str
    lines: list[Line]
    frequency: str = "1"
    original: str | None = None
    diagnoses: tuple[str, ...] = ("Z0000",)
    pos: str = "11"
    payer: str = "SHP01"
    extra: list[str] = field(default_factory=list)  # raw segments appended after HI (to break things)


def _isa(control: int, at: datetime) -> str:
    return (f"ISA*00*          *00*          *ZZ*{'CLEARHOUSE01':<15}*ZZ*{'CAREPLATFORM':<15}*"
            f"{at:%y%m%d}*{at:%H%M}*^*00501*{control:09d}*0*T*:")


def professional(claims: list[Claim], *, at: datetime, control: int = 1, st: str = "0001") -> str:
    """One interchange, one group, one transaction set holding ``claims``."""
    body: list[str] = [
        f"BHT*0019*00*REF{control}*{at:%Y%m%d}*{at:%H%M}*CH",
        "NM1*41*2*TEST CLEARINGHOUSE*****46*CH0001",
        "PER*IC*EDI DESK*TE*5555550100",
        "NM1*40*2*TEST PLAN*****46*SHP01",
        "HL*1**20*1",
        "NM1*85*2*RIVERSIDE FAMILY MEDICINE*****XX*1234567893",
        "N3*100 MAIN STREET",
        "N4*SPRINGFIELD*IL*62701",
        "REF*EI*371234567",
    ]
    hl = 1
    for c in claims:
        hl += 1
        body += [
            f"HL*{hl}*1*22*0",
            "SBR*P*18*GRP100******MB",
            f"NM1*IL*1*TESTER*PAT****MI*{c.member_id}",
            "DMG*D8*19600101*F",
            f"NM1*PR*2*TEST PLAN*****PI*{c.payer}",
        ]
        total = sum(int(ln.charge) for ln in c.lines if ln.charge.isdigit())
        body.append(f"CLM*{c.claim_id}*{total}***{c.pos}:B:{c.frequency}*Y*A*Y*Y")
        if c.original:
            body.append(f"REF*F8*{c.original}")
        body.append("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{d}" for i, d in enumerate(c.diagnoses)))
        body += c.extra
        for n, ln in enumerate(c.lines, 1):
            proc = ":".join(("HC", ln.code) + ln.modifiers)
            body += [f"LX*{n}", f"SV1*{proc}*{ln.charge}*UN*1*{ln.pos}**1", f"DTP*472*D8*{ln.day:%Y%m%d}"]
    segments = [f"ST*837*{st}*005010X222A1", *body]
    segments.append(f"SE*{len(segments) + 1}*{st}")
    envelope = [_isa(control, at), f"GS*HC*CLEARHOUSE01*CAREPLATFORM*{at:%Y%m%d}*{at:%H%M}*{control}*X*005010X222A1",
                *segments, f"GE*1*{control}", f"IEA*1*{control:09d}"]
    return "".join(s + "~\n" for s in envelope)
