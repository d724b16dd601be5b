"""Claims from a person's care: one professional claim per provider-day of services, one
institutional claim per hospital stay or ED visit; later replacements (7) and voids (8).

Amounts are integer cents until a writer formats them. Claim ids are assigned in generation
order (deterministic); a replacement or void gets its own id and names the original in
``original_id`` (REF*F8), and is always received after it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from . import reference as ref
from .encounters import CareHistory, EdVisit, Service, Stay
from .config import SynthConfig
from .population import Person, person_rng

# (line_no, code, modifiers, revenue code, from, to, units, charge, allowed, paid, pos, dx pointers)
Line = tuple[int, str, tuple[str, ...], str, date, date, int, int, int, int, str, tuple[int, ...]]

# revenue code -> (charge per unit in cents, unit basis)
REV_CHARGE: dict[str, tuple[int, str]] = {
    "0120": (285000, "DA"), "0250": (92000, "UN"), "0300": (61000, "UN"), "0320": (44000, "UN"),
    "0360": (1650000, "UN"), "0450": (0, "UN"), "0730": (31000, "UN"), "0762": (12500, "UN"),
}
ED_FACILITY = {"99283": 140000, "99284": 235000, "99285": 380000}


@dataclass(slots=True)
class Subscriber:
    member_id: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    street: str
    city: str
    state: str
    zip: str
    contract_id: str

    @classmethod
    def of(cls, p: Person) -> "Subscriber":
        return cls(p.member_id, p.family_name, p.given_name, p.birth_date, p.sex, p.street, p.city,
                   p.state, p.zip, p.contract_id)


@dataclass(slots=True)
class Claim:
    claim_id: str
    frequency: str                 # 1 original, 7 replacement, 8 void
    original_id: str               # for 7/8: the claim replaced or voided
    kind: str                      # "P" professional (837P) or "I" institutional (837I)
    sub: Subscriber
    billing_npi: str
    rendering_npi: str             # 837P 2310B rendering; 837I 2310A attending
    pos: str                       # 837P place of service (CLM05-1)
    tob: str                       # 837I type of bill: facility code + frequency, e.g. 111
    admission: datetime | None
    discharge_date: date | None
    discharge_status: str
    admission_type: str
    admission_source: str
    dx: tuple[str, ...]
    lines: tuple[Line, ...]
    received: datetime             # when the payer's file carries it (local)
    seq: int                       # generation order; ties in ``received`` keep it
    service: str = ""              # what the claim is for (office, mammo, inpatient, ...): manifest stats only

    @property
    def total_charge(self) -> int:
        return sum(ln[7] for ln in self.lines)

    @property
    def total_paid(self) -> int:
        return sum(ln[9] for ln in self.lines)

    @property
    def statement_from(self) -> date:
        return min(ln[4] for ln in self.lines)

    @property
    def statement_to(self) -> date:
        return max(ln[5] for ln in self.lines)

    @property
    def payer_id(self) -> str:
        return ref.PAYERS[self.sub.contract_id][0]


class ClaimFactory:
    def __init__(self, cfg: SynthConfig, hospitals: tuple[ref.Hospital, ...]) -> None:
        self.cfg = cfg
        self.hospitals = hospitals
        self.next_id = 0
        self.seq = 0
        self.history_received = datetime.combine(cfg.start, time(0))   # naive local, like every receipt time

    def _id(self) -> str:
        self.next_id += 1
        return f"C{self.next_id:010d}"

    def _seq(self) -> int:
        self.seq += 1
        return self.seq

    def _share(self, sub: Subscriber) -> float:
        return 0.95 if sub.contract_id == ref.CONTRACT_MA else 0.85

    def _received(self, rng: random.Random, last_service: date) -> datetime:
        lo, hi = self.cfg.claim_lag_days
        day = last_service + timedelta(days=rng.randint(lo, hi))
        return datetime.combine(day, time(2)) + timedelta(seconds=rng.randrange(3600 * 4))

    # --- professional -------------------------------------------------------------------
    def professional(self, svc: Service, sub: Subscriber, rng: random.Random, history: bool) -> Claim:
        share = self._share(sub)
        lines: list[Line] = []
        for i, (code, mods, units, ptrs) in enumerate(svc.lines, start=1):
            day = svc.day
            if svc.kind == "hospitalist" and svc.end_day is not None:
                day = svc.end_day if i == len(svc.lines) else min(svc.day + timedelta(days=i - 1), svc.end_day)
            allowed = ref.FEES.get(code, 5000) * units
            charge = allowed * 2 if allowed else 0
            paid = int(allowed * share)
            lines.append((i, code, mods, "", day, day, units, charge, allowed, paid, svc.pos, ptrs))
        last = max(ln[5] for ln in lines)
        received = self.history_received if history else self._received(rng, last)
        return Claim(self._id(), "1", "", "P", sub, svc.billing_npi, svc.rendering_npi, svc.pos, "",
                     None, None, "", "", "", tuple(svc.dx), tuple(lines), received, self._seq(), svc.kind)

    # --- institutional ------------------------------------------------------------------
    def _inst_line(self, n: int, rev: str, code: str, day: date, end: date, units: int, charge: int,
                   share: float) -> Line:
        allowed = int(charge * 0.42)
        return (n, code, (), rev, day, end, units, charge, allowed, int(allowed * share), "", ())

    def stay(self, s: Stay, sub: Subscriber, rng: random.Random) -> Claim:
        share = self._share(sub)
        a, d = s.admit.date(), s.discharge.date()
        lines: list[Line] = []

        def add(rev: str, code: str, day: date, units: int = 1, end: date | None = None, charge: int | None = None) -> None:
            per = REV_CHARGE[rev][0] if charge is None else charge
            lines.append(self._inst_line(len(lines) + 1, rev, code, day, end or day, units, per * units, share))

        if s.kind == "observation":
            hours = max(8, round((s.discharge - s.admit).total_seconds() / 3600))
            add("0762", "G0378", a, hours, end=d)
            add("0300", "80053", a)
            tob, status, adm_type, source = "131", "01", "1", "7"
        else:
            los = max(1, (d - a).days)
            add("0120", "", a, los, end=d - timedelta(days=1) if d > a else a)
            add("0250", "", a, end=d)
            add("0300", "80053", a)
            if s.via_ed:
                add("0450", "99285", s.via_ed.date(), charge=ED_FACILITY["99285"])
            if s.surgery:
                add("0360", s.surgery, a)
            if rng.random() < 0.5:
                add("0730", "93005", a)
            tob, status = "111", s.disposition
            adm_type, source = ("3", "1") if s.elective else ("1", "7" if s.via_ed else "1")
        dx = tuple(c for c, _ in s.dx)
        hosp = self.hospitals[s.reg.hospital]
        return Claim(self._id(), "1", "", "I", sub, hosp.npi, ref.ATTENDINGS[s.attending][0], "", tob,
                     s.admit if s.kind == "inpatient" else None, d if s.kind == "inpatient" else None,
                     status, adm_type, source, dx, tuple(lines), self._received(rng, d), self._seq(),
                     s.kind)

    def ed(self, e: EdVisit, sub: Subscriber, rng: random.Random) -> Claim:
        share = self._share(sub)
        day = e.arrival.date()
        lines = [self._inst_line(1, "0450", e.level, day, day, 1, ED_FACILITY[e.level], share)]
        if rng.random() < 0.5:
            lines.append(self._inst_line(len(lines) + 1, "0300", "80053", day, day, 1, REV_CHARGE["0300"][0], share))
        if rng.random() < 0.3:
            lines.append(self._inst_line(len(lines) + 1, "0320", "71046", day, day, 1, REV_CHARGE["0320"][0], share))
        if rng.random() < 0.4:
            lines.append(self._inst_line(len(lines) + 1, "0250", "", day, day, 1, REV_CHARGE["0250"][0], share))
        hosp = self.hospitals[e.reg.hospital]
        return Claim(self._id(), "1", "", "I", sub, hosp.npi, ref.ED_PHYSICIAN_NPI, "", "131", None, None,
                     "01", "1", "7", tuple(c for c, _ in e.dx), tuple(lines),
                     self._received(rng, e.depart.date()), self._seq(), "ed")

    # --- adjustments --------------------------------------------------------------------
    def adjust(self, c: Claim, rng: random.Random) -> Claim | None:
        """Maybe a later replacement or void of ``c`` (never of a history claim)."""
        r = rng.random()
        cfg = self.cfg
        if r >= cfg.replacement_rate + cfg.void_rate:
            return None
        received = c.received + timedelta(days=rng.randint(7, 60), seconds=rng.randrange(3600))
        if r < cfg.void_rate:
            return replace(c, claim_id=self._id(), frequency="8", original_id=c.claim_id,
                           tob=c.tob[:2] + "8" if c.tob else "", received=received, seq=self._seq())
        lines = list(c.lines)
        dx = c.dx
        m = rng.random()
        if m < 0.25 and len(dx) < 12:
            dx = dx + (rng.choice(("R5383", "Z8249", "E785", "M545")),)
        elif m < 0.4 and len(lines) > 1 and not lines[-1][1].endswith("F"):
            lines = lines[:-1]             # a service billed in error (never half of a CPT II pair)
        else:
            ln = lines[0]
            charge, allowed = ln[7] + 1500 if ln[7] else 0, ln[8] + 700 if ln[8] else 0
            paid = int(allowed * self._share(c.sub))
            lines[0] = (ln[0], ln[1], ln[2], ln[3], ln[4], ln[5], ln[6], charge, allowed, paid, ln[10], ln[11])
        return replace(c, claim_id=self._id(), frequency="7", original_id=c.claim_id,
                       tob=c.tob[:2] + "7" if c.tob else "", dx=dx, lines=tuple(lines),
                       received=received, seq=self._seq())

    def claims_for(self, hist: CareHistory) -> list[Claim]:
        """Every claim (history first, then the period's, then adjustments) of one rostered member."""
        p = hist.person
        if not p.rostered:
            return []
        rng = person_rng(self.cfg.seed, p.idx, 2)
        sub = Subscriber.of(p)
        out: list[Claim] = [self.professional(s, sub, rng, True) for s in hist.history]
        period: list[Claim] = [self.professional(s, sub, rng, False) for s in hist.services]
        period += [self.stay(s, sub, rng) for s in hist.stays if s.kind != "cancelled"]
        period += [self.ed(e, sub, rng) for e in hist.ed_visits]
        adjustments = [a for a in (self.adjust(c, rng) for c in period) if a is not None]
        return out + period + adjustments
