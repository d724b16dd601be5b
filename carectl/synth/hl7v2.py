"""HL7 v2.5.1 ADT messages for a person's hospital encounters, and malformed variants.

A message is built in two parts: the body (every segment after MSH, already escaped) at
generation time, and the MSH at file-writing time, when the message control id (MSH-10) is
assigned in send order per facility. Segments are separated by CR.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from . import reference as ref
from .encounters import CareHistory, EdVisit, Stay

ENCODING = "^~\\&"
STRUCTURE = {"A01": "ADT_A01", "A02": "ADT_A02", "A03": "ADT_A03", "A04": "ADT_A01", "A05": "ADT_A05",
             "A06": "ADT_A06", "A07": "ADT_A06", "A08": "ADT_A01", "A11": "ADT_A09", "A12": "ADT_A12",
             "A13": "ADT_A01", "A40": "ADT_A39"}
_ESC = str.maketrans({"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"})


def escape(text: str) -> str:
    """HL7 escaping of the default delimiters inside a text value (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\)."""
    return text.translate(_ESC)


def dotted(code: str) -> str:
    """ICD-10-CM with its dot (J189 → J18.9) as hospitals send it in DG1-3."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def ts(dt: datetime, tz: ZoneInfo) -> str:
    """HL7 DTM with the zone offset: 20260302140500-0600."""
    aware = dt.replace(tzinfo=tz)
    return aware.strftime("%Y%m%d%H%M%S%z")


@dataclass(slots=True)
class AdtRecord:
    """One message waiting for its MSH: what the file writer and the index need."""
    send_epoch: float
    seq: int
    facility: str
    application: str
    msh7: str
    trigger: str
    patient_class: str
    member_id: str           # the truth: who the patient is ("" if not on the roster)
    patient_key: str         # AUTHORITY|MRN as sent in PID-3
    visit_number: str
    matchable: bool          # whether the roster's crosswalk knows this PID-3
    body: str                # EVN.. segments, CR-joined, escaped

    def render(self, control_id: str) -> str:
        msh = (f"MSH|{ENCODING}|{self.application}|{self.facility}|CCP|CCP|{self.msh7}||"
               f"ADT^{self.trigger}^{STRUCTURE[self.trigger]}|{control_id}|P|2.5.1")
        return f"{msh}\r{self.body}\r"


class AdtBuilder:
    def __init__(self, hospitals: tuple[ref.Hospital, ...], tz: ZoneInfo) -> None:
        self.hospitals = hospitals
        self.tz = tz
        self.seq = 0

    def _pid(self, h: CareHistory, mrn: str, auth: str) -> str:
        p = h.person
        return (f"PID|1||{escape(mrn)}^^^{auth}^MR||{escape(p.family_name)}^{escape(p.given_name)}||"
                f"{p.birth_date:%Y%m%d}|{p.sex}|||{escape(p.street)}^^{escape(p.city)}^{p.state}^{p.zip}")

    def _pv1(self, *, cls: str, loc: str, prior: str = "", attending: int | None = None,
             adm_type: str = "", service: str = "MED", source: str = "", visit: str = "",
             disposition: str = "", admit: datetime | None = None, discharge: datetime | None = None) -> str:
        f = [""] * 46
        f[0], f[1], f[2], f[3], f[4], f[6] = "PV1", "1", cls, loc, adm_type, prior
        if attending is not None:
            npi, fam, giv = ref.ATTENDINGS[attending]
            f[7] = f"{npi}^{escape(fam)}^{escape(giv)}"
        f[10], f[14], f[19], f[36] = service, source, visit, disposition
        f[44] = ts(admit, self.tz) if admit else ""
        f[45] = ts(discharge, self.tz) if discharge else ""
        while f and f[-1] == "":
            f.pop()
        return "|".join(f)

    def _dg1(self, dx: list[tuple[str, str]], at: datetime, kind: str) -> list[str]:
        return [f"DG1|{i}||{dotted(c)}^{escape(t)}^I10||{ts(at, self.tz)}|{kind}"
                for i, (c, t) in enumerate(dx, start=1)]

    def _rec(self, out: list[AdtRecord], rng: random.Random, h: CareHistory, reg_hospital: int,
             mrn: str, matchable: bool, trigger: str, event: datetime, cls: str, visit: str,
             segments: list[str]) -> None:
        hosp = self.hospitals[reg_hospital]
        event = event.replace(microsecond=0)
        sent = event + timedelta(seconds=rng.randint(1, 120))
        self.seq += 1
        body = "\r".join([f"EVN|{trigger}|{ts(event, self.tz)}"] + segments)
        out.append(AdtRecord(
            sent.replace(tzinfo=self.tz).timestamp(), self.seq, hosp.authority, hosp.application,
            ts(sent, self.tz), trigger, cls, h.person.member_id, f"{hosp.authority}|{mrn}", visit,
            matchable, body))

    def messages(self, h: CareHistory, rng: random.Random) -> list[AdtRecord]:
        out: list[AdtRecord] = []
        for s in h.stays:
            self._stay(out, rng, h, s)
        for e in h.ed_visits:
            self._ed(out, rng, h, e)
        return out

    def _stay(self, out: list[AdtRecord], rng: random.Random, h: CareHistory, s: Stay) -> None:
        reg = s.reg
        hosp = self.hospitals[reg.hospital]
        auth = hosp.authority
        pid = self._pid(h, reg.mrn, auth)
        loc = f"{s.unit}^{s.room}^{s.bed}^{auth}"
        ed_loc = f"ED^{rng.randint(1, 40)}^^{auth}"
        adm_type = "EL" if s.elective else "E" if s.via_ed else "U"
        source = "7" if s.via_ed else "1"
        service = "SUR" if s.surgery else "MED"

        def emit(trigger: str, at: datetime, cls: str, pv1: str, dx: list[tuple[str, str]] | None, dkind: str = "A") -> None:
            segs = [pid, pv1] + (self._dg1(dx, at, dkind) if dx else [])
            self._rec(out, rng, h, reg.hospital, reg.mrn, reg.matchable, trigger, at, cls, s.visit, segs)

        common = dict(attending=s.attending, adm_type=adm_type, service=service, source=source, visit=s.visit)
        if s.kind == "cancelled":
            pv1 = self._pv1(cls="I", loc=loc, admit=s.admit, **common)
            emit("A01", s.admit, "I", pv1, s.dx[:1])
            emit("A11", s.cancel_at or s.admit, "I", pv1, None)
            return
        if s.preadmit is not None:
            emit("A05", s.preadmit, "P", self._pv1(cls="P", loc=loc, admit=s.admit, **common), s.dx[:1])
        if s.via_ed is not None:
            emit("A04", s.via_ed, "E", self._pv1(cls="E", loc=ed_loc, admit=s.via_ed, **common), s.dx[:1], "W")
            start = s.via_ed
            if s.use_a06:
                emit("A06", s.admit, "I", self._pv1(cls="I", loc=loc, prior=ed_loc, admit=start, **common), s.dx[:1])
            else:
                emit("A01", s.admit, "I", self._pv1(cls="I", loc=loc, admit=start, **common), s.dx[:1])
        else:
            start = s.admit
            emit("A01", s.admit, "I", self._pv1(cls="I", loc=loc, admit=start, **common), s.dx[:1])
        cls = "I"
        current = loc
        if s.convert_at is not None:
            cls = "O"
            emit("A07", s.convert_at, "O", self._pv1(cls="O", loc=loc, admit=start, **common), s.dx[:1])
        if s.update_at is not None:
            emit("A08", s.update_at, cls, self._pv1(cls=cls, loc=current, admit=start, **common), s.dx, "W")
        if s.transfer is not None:
            when, unit = s.transfer
            new_loc = f"{unit}^{rng.randint(100, 599)}^{rng.choice('AB')}^{auth}"
            emit("A02", when, cls, self._pv1(cls=cls, loc=new_loc, prior=current, admit=start, **common), None)
            if s.transfer_cancel is not None:
                emit("A12", s.transfer_cancel, cls,
                     self._pv1(cls=cls, loc=current, prior=new_loc, admit=start, **common), None)
            else:
                current = new_loc
        if s.discharge_cancel is not None:
            first, cancel = s.discharge_cancel
            emit("A03", first, cls, self._pv1(cls=cls, loc=current, disposition="01", admit=start,
                                              discharge=first, **common), s.dx, "F")
            emit("A13", cancel, cls, self._pv1(cls=cls, loc=current, admit=start, **common), s.dx, "W")
        emit("A03", s.discharge, cls, self._pv1(cls=cls, loc=current, disposition=s.disposition if cls == "I" else "01",
                                                admit=start, discharge=s.discharge, **common), s.dx, "F")

    def _ed(self, out: list[AdtRecord], rng: random.Random, h: CareHistory, e: EdVisit) -> None:
        reg = e.reg
        hosp = self.hospitals[reg.hospital]
        auth = hosp.authority
        pid = self._pid(h, reg.mrn, auth)
        loc = f"ED^{rng.randint(1, 40)}^^{auth}"
        common = dict(adm_type="E", service="EM", source="7", visit=e.visit, attending=e.attending)

        def emit(trigger: str, at: datetime, pv1: str, dx: list[tuple[str, str]] | None, kind: str = "W") -> None:
            segs = [pid, pv1] + (self._dg1(dx, at, kind) if dx else [])
            self._rec(out, rng, h, reg.hospital, reg.mrn, reg.matchable, trigger, at, "E", e.visit, segs)

        emit("A04", e.arrival, self._pv1(cls="E", loc=loc, admit=e.arrival, **common), e.dx)
        if rng.random() < 0.15:
            emit("A08", e.arrival + (e.depart - e.arrival) / 2,
                 self._pv1(cls="E", loc=loc, admit=e.arrival, **common),
                 e.dx)
        emit("A03", e.depart, self._pv1(cls="E", loc=loc, disposition="01", admit=e.arrival,
                                        discharge=e.depart, **common), e.dx, "F")
        if reg.merge_into and reg.merge_at:
            segs = [self._pid(h, reg.merge_into, auth), f"MRG|{escape(reg.mrn)}^^^{auth}^MR"]
            self._rec(out, rng, h, reg.hospital, reg.merge_into, h.person.rostered, "A40", reg.merge_at,
                      "", "", segs)


# --- malformed variants ---------------------------------------------------------------------
def malformed(kind: str, rec: AdtRecord, control_id: str, rng: random.Random) -> bytes:
    """A broken message derived from ``rec`` that a listener must NAK (and dead-letter)."""
    if kind == "garbage":
        n = rng.randint(20, 300)
        allowed = [b for b in range(256) if b not in (0x0A, 0x0D, 0x0B, 0x1C)]
        data = bytes(rng.choice(allowed) for _ in range(n))
        return b"\x7fGARBAGE" + data + b"\r"
    text = rec.render(control_id)
    segs = text.rstrip("\r").split("\r")
    if kind == "missing_pid3":
        for i, s in enumerate(segs):
            if s.startswith("PID|"):
                f = s.split("|")
                f[3] = ""
                segs[i] = "|".join(f)
    elif kind == "unknown_trigger":
        segs[0] = segs[0].replace(f"ADT^{rec.trigger}^{STRUCTURE[rec.trigger]}", "ADT^A99^ADT_A01")
        segs[1] = "EVN|A99|" + segs[1].split("|", 2)[2]
    elif kind == "bad_date":
        f = segs[1].split("|")
        f[2] = f[2][:4] + "0230" + "25" + f[2][10:]
        segs[1] = "|".join(f)
    elif kind == "no_msh":
        segs = segs[1:]
    elif kind == "non_adt":
        segs[0] = segs[0].replace(f"ADT^{rec.trigger}^{STRUCTURE[rec.trigger]}", "ORU^R01^ORU_R01")
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return ("\r".join(segs) + "\r").encode("ascii", "replace")
