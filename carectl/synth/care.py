"""What happens to one person in the period: hospital stays, ED visits, office visits,
screenings, and (for the history batch) the prior years' services that the measures look back on.

All times are local wall-clock (naive) datetimes in the run's time zone; the writers attach
the zone. Nothing here renders a file format.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from . import reference as ref
from .config import SynthConfig, add_months
from .population import Person, TIERS, mrn_for, person_rng, poisson

ADM_MULT = (0.3, 0.8, 2.0, 5.0)     # by risk tier; normalised by ADM_NORM (the tier mix)
ADM_NORM = 0.74
ED_MULT = (0.6, 1.0, 1.8, 3.0)
ED_NORM = 0.94
READMIT_MULT = (0.6, 0.9, 1.2, 1.6)
READMIT_NORM = 1.1                  # discharges skew towards the higher tiers
OFFICE_RATE = (1.8, 3.0, 4.5, 6.5)  # office visits per year by tier (engaged members)
OBSERVATION_PER_1000 = 6.0
CANCELLED_ADMIT_SHARE = 0.03       # A01 sent in error, then A11
VIA_ED_SHARE = 0.6
UNLISTED_MRN_BASE = 4_000_000       # MRN slots of hospital records the roster does not list (temp slots: 8M+)


@dataclass(slots=True)
class Registration:
    """Who the hospital thinks the patient is: the MRN it used, and whether the roster knows it."""
    hospital: int
    mrn: str
    matchable: bool
    merge_into: str | None = None     # a temporary MRN later merged (A40) into this real MRN
    merge_at: datetime | None = None


@dataclass(slots=True)
class Stay:
    kind: str                          # inpatient | observation | cancelled
    reg: Registration
    visit: str
    admit: datetime
    discharge: datetime
    dx: list[tuple[str, str]]
    disposition: str = "01"
    unit: str = ""
    room: str = ""
    bed: str = "A"
    attending: int = 0
    via_ed: datetime | None = None     # ED arrival before the admission
    use_a06: bool = False              # ED → inpatient as A06 (else A01)
    elective: bool = False
    preadmit: datetime | None = None   # A05
    transfer: tuple[datetime, str] | None = None           # A02 to a unit
    transfer_cancel: datetime | None = None                # A12
    update_at: datetime | None = None                      # A08 with a further diagnosis
    discharge_cancel: tuple[datetime, datetime] | None = None  # first A03 and its A13
    convert_at: datetime | None = None                     # A07 (observation)
    cancel_at: datetime | None = None                      # A11
    readmission: bool = False
    surgery: str | None = None


@dataclass(slots=True)
class EdVisit:
    reg: Registration
    visit: str
    arrival: datetime
    depart: datetime
    dx: list[tuple[str, str]]
    level: str                         # 99283..99285
    attending: int = 0


@dataclass(slots=True)
class Service:
    """Professional services on one day by one provider (becomes one 837P claim)."""
    day: date
    kind: str                          # office preventive followup colonoscopy fit sdna mammo history hospitalist ed
    lines: list[tuple[str, tuple[str, ...], int, tuple[int, ...]]]   # code, modifiers, units, dx pointers
    dx: list[str]
    pos: str
    billing_npi: str
    rendering_npi: str
    end_day: date | None = None


@dataclass(slots=True)
class CareHistory:
    person: Person
    stays: list[Stay] = field(default_factory=list)
    ed_visits: list[EdVisit] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)     # in-period professional services
    history: list[Service] = field(default_factory=list)      # before the period (history batch)
    merges: list[tuple[datetime, Registration, str]] = field(default_factory=list)


class Counters:
    """Run-wide counters for visit numbers and temporary MRNs (deterministic: one thread)."""

    def __init__(self) -> None:
        self.visit = 0
        self.temp_mrn = 0

    def next_visit(self) -> str:
        self.visit += 1
        return f"V{self.visit:09d}"

    def next_temp_slot(self) -> int:
        self.temp_mrn += 1
        return 8_000_000 + self.temp_mrn


def _at(day: date, rng: random.Random, lo: float, hi: float) -> datetime:
    secs = int(rng.uniform(lo, hi) * 3600)
    return datetime.combine(day, time(0)) + timedelta(seconds=secs)


def _weekday(day: date, rng: random.Random, lo: date, hi: date) -> date:
    """Move a weekend date to a nearby weekday inside [lo, hi)."""
    wd = day.weekday()
    if wd >= 5:
        cand = day + timedelta(days=7 - wd) if rng.random() < 0.6 else day - timedelta(days=wd - 4)
        if lo <= cand < hi:
            return cand
    return day


def _rand_day(rng: random.Random, lo: date, hi: date) -> date:
    return lo + timedelta(days=rng.randrange(max(1, (hi - lo).days)))


class CareModel:
    def __init__(self, cfg: SynthConfig, hospitals: tuple[ref.Hospital, ...],
                 practices: tuple[ref.Practice, ...]) -> None:
        self.cfg = cfg
        self.hospitals = hospitals
        self.practices = practices
        self.counters = Counters()
        rs = cfg.readmission_share
        self.index_rate = cfg.admissions_per_1000 / 1000 * (1 - rs) / ADM_NORM
        self.readmit_p = rs * 0.95 / READMIT_NORM
        self.ed_rate = cfg.ed_visits_per_1000 / 1000 / ED_NORM

    # --- registration ---------------------------------------------------------------
    def _register(self, p: Person, rng: random.Random) -> Registration:
        hs = self.hospitals
        if p.mrns and rng.random() < 0.95:
            weights = [3] + [1] * (len(p.mrns) - 1)
            auth, mrn = rng.choices(p.mrns, weights)[0]
            h = next(i for i, x in enumerate(hs) if x.authority == auth)
            return Registration(h, mrn, p.rostered)
        h = self.practices[p.practice].home_hospital if rng.random() < 0.6 else rng.randrange(len(hs))
        known = dict(p.mrns)
        if hs[h].authority in known:
            return Registration(h, known[hs[h].authority], p.rostered)
        # the roster does not know this hospital's MRN for the person: the hospital's own (stable) one
        return Registration(h, mrn_for(hs[h], h, UNLISTED_MRN_BASE + p.idx), False)

    # --- the period -----------------------------------------------------------------
    def window(self, p: Person) -> tuple[date, date]:
        lo = max(self.cfg.start, p.eligibility_start)
        hi = self.cfg.end if p.eligibility_end is None else min(self.cfg.end, p.eligibility_end + timedelta(days=1))
        return lo, hi

    def simulate(self, p: Person) -> CareHistory:
        rng = person_rng(self.cfg.seed, p.idx, 1)
        hist = CareHistory(p)
        lo, hi = self.window(p)
        if hi <= lo:
            return hist
        years = (hi - lo).days / 365.25
        t = TIERS.index(p.risk_tier)
        self._stays(p, rng, hist, lo, hi, years, t)
        if p.died_on is not None:
            hi = min(hi, p.died_on)
        self._ed(p, rng, hist, lo, hi, years, t)
        if p.rostered:
            self._office(p, rng, hist, lo, hi, years, t)
            self._screenings(p, rng, hist, lo, hi)
            self._professional_for_hospital(p, rng, hist)
            if self.cfg.history and p.eligibility_start < self.cfg.start:
                self._history(p, rng, hist)
        return hist

    def _stays(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date,
               years: float, t: int) -> None:
        n_index = poisson(rng, self.index_rate * ADM_MULT[t] * years)
        starts = sorted(_rand_day(rng, lo, hi) for _ in range(n_index))
        n_obs = poisson(rng, OBSERVATION_PER_1000 / 1000 * ADM_MULT[t] / ADM_NORM * years)
        obs_days = sorted(_rand_day(rng, lo, hi) for _ in range(n_obs))
        n_cancel = poisson(rng, CANCELLED_ADMIT_SHARE * self.index_rate * ADM_MULT[t] * years)
        busy_until = datetime.combine(lo, time(0))
        queue = [(d, False) for d in starts]
        i = 0
        while i < len(queue):
            day, readmit = queue[i]
            i += 1
            if day >= hi or (p.died_on and day >= p.died_on):
                continue
            stay = self._inpatient(p, rng, day, readmit)
            if stay.via_ed and stay.via_ed < busy_until or stay.admit < busy_until:
                continue
            if stay.discharge.date() >= hi:
                continue                       # still in hospital at the period end: leave it out
            hist.stays.append(stay)
            busy_until = stay.discharge + timedelta(hours=6)
            if stay.disposition == "20":
                p.died_on = stay.discharge.date()
                last = add_months(p.died_on.replace(day=1), 1) - timedelta(days=1)
                if p.eligibility_end is None or last < p.eligibility_end:
                    p.eligibility_end = last
                break
            if rng.random() < self.readmit_p * READMIT_MULT[t]:
                rday = stay.discharge.date() + timedelta(days=rng.randint(1, 30))
                queue.insert(i, (rday, True))
                queue[i:] = sorted(queue[i:])
        for day in obs_days:
            if day >= hi or (p.died_on and day >= p.died_on):
                continue
            s = self._observation(p, rng, day)
            if any(x.admit <= s.discharge and s.admit <= x.discharge for x in hist.stays):
                continue
            hist.stays.append(s)
        for _ in range(n_cancel):
            day = _rand_day(rng, lo, hi)
            if p.died_on and day >= p.died_on:
                continue
            reg = self._register(p, rng)
            admit = _at(day, rng, 0, 24)
            hist.stays.append(Stay(
                "cancelled", reg, self.counters.next_visit(), admit, admit, [self._admit_dx(rng)[:2]],
                unit=rng.choice(self.hospitals[reg.hospital].units), room=str(rng.randint(100, 599)),
                attending=rng.randrange(len(ref.ATTENDINGS)),
                cancel_at=admit + timedelta(minutes=rng.randint(10, 180))))
        hist.stays.sort(key=lambda s: s.admit)

    def _admit_dx(self, rng: random.Random) -> tuple[str, str, bool]:
        return rng.choices(ref.ADMIT_DX, ref.ADMIT_DX_WEIGHTS)[0]

    def _inpatient(self, p: Person, rng: random.Random, day: date, readmit: bool) -> Stay:
        code, text, elective = self._admit_dx(rng)
        if readmit and elective:
            code, text, elective = ref.ADMIT_DX[0]
        reg = self._register(p, rng)
        hosp = self.hospitals[reg.hospital]
        via_ed = None
        if not elective and rng.random() < VIA_ED_SHARE:
            via_ed = _at(day, rng, 0, 24) if rng.random() < 0.3 else _at(day, rng, 8, 23.5)
            admit = via_ed + timedelta(minutes=rng.randint(90, 420))
        elif elective:
            admit = _at(day, rng, 6, 9)
        else:
            admit = _at(day, rng, 0, 24)
        los = max(1, min(30, round(rng.lognormvariate(1.2, 0.55))))
        discharge = datetime.combine(admit.date() + timedelta(days=los), time(0)) + timedelta(
            minutes=rng.randint(9 * 60, 17 * 60))
        dx = [(code, text)]
        for c in p.conditions[:3]:
            if c != code and c in ref.DX_TEXT:
                dx.append((c, ref.DX_TEXT[c]))
        disp_w = list(ref.DISPOSITION_WEIGHTS)
        disp_w[-1] *= (0.5, 1.0, 1.6, 2.5)[TIERS.index(p.risk_tier)] * (1.8 if p.age >= 80 else 0.8)
        stay = Stay(
            "inpatient", reg, self.counters.next_visit(), admit, discharge, dx,
            disposition=rng.choices(ref.DISPOSITIONS, disp_w)[0],
            unit=rng.choice(hosp.units), room=str(rng.randint(100, 599)), bed=rng.choice("AB"),
            attending=rng.randrange(len(ref.ATTENDINGS)), via_ed=via_ed,
            use_a06=via_ed is not None and rng.random() < 0.6, elective=elective, readmission=readmit,
        )
        if elective:
            stay.preadmit = _at(day - timedelta(days=rng.randint(3, 14)), rng, 8, 17)
            stay.surgery = "27447" if code == "M1711" else "27130"
        if los >= 2 and rng.random() < 0.2:
            when = admit + timedelta(hours=rng.uniform(4, 24 * (los - 1)))
            others = [u for u in hosp.units if u != stay.unit] or [stay.unit]
            stay.transfer = (when, rng.choice(others))
            if rng.random() < 0.15:
                stay.transfer_cancel = when + timedelta(minutes=rng.randint(5, 90))
        if rng.random() < 0.3:
            stay.update_at = admit + timedelta(hours=rng.uniform(1, 20))
        if rng.random() < 0.03:
            first = discharge - timedelta(hours=rng.uniform(2, 20))
            stay.discharge_cancel = (first, first + timedelta(minutes=rng.randint(15, 240)))
        return stay

    def _observation(self, p: Person, rng: random.Random, day: date) -> Stay:
        reg = self._register(p, rng)
        hosp = self.hospitals[reg.hospital]
        admit = _at(day, rng, 0, 24)
        return Stay(
            "observation", reg, self.counters.next_visit(), admit,
            admit + timedelta(hours=rng.uniform(20, 40)), [("R079", "Chest pain, unspecified")],
            unit=rng.choice(hosp.units), room=str(rng.randint(100, 599)),
            attending=rng.randrange(len(ref.ATTENDINGS)),
            convert_at=admit + timedelta(hours=rng.uniform(4, 16)))

    def _ed(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date,
            years: float, t: int) -> None:
        n = poisson(rng, self.ed_rate * ED_MULT[t] * years)
        for _ in range(n):
            day = _rand_day(rng, lo, hi)
            arrival = _at(day, rng, 0, 24) if rng.random() < 0.25 else _at(day, rng, 8, 23.9)
            depart = arrival + timedelta(minutes=rng.randint(80, 420))
            if any(s.admit - timedelta(hours=12) <= arrival <= s.discharge + timedelta(hours=1)
                   for s in hist.stays) or depart.date() >= hi:
                continue
            reg = self._register(p, rng)
            if reg.matchable and rng.random() < 0.03:
                # registered under a temporary MRN; the hospital merges it into the real one later
                hosp = self.hospitals[reg.hospital]
                real = reg.mrn
                temp = "T" + mrn_for(hosp, reg.hospital, self.counters.next_temp_slot())
                reg = Registration(reg.hospital, temp, False, merge_into=real,
                                   merge_at=depart + timedelta(hours=rng.uniform(6, 96)))
            code, text = rng.choice(ref.ED_DX)
            level = rng.choices(("99283", "99284", "99285"), (40, 40, 20))[0]
            hist.ed_visits.append(EdVisit(reg, self.counters.next_visit(), arrival, depart,
                                          [(code, text)], level, rng.randrange(len(ref.ATTENDINGS))))
        hist.ed_visits.sort(key=lambda e: e.arrival)

    # --- professional services --------------------------------------------------------
    def _visit_lines(self, p: Person, rng: random.Random, em: str, dx: list[str],
                     with_results: bool) -> list[tuple[str, tuple[str, ...], int, tuple[int, ...]]]:
        lines: list[tuple[str, tuple[str, ...], int, tuple[int, ...]]] = [
            (em, (), 1, tuple(range(1, min(4, len(dx)) + 1)))]
        if not with_results:
            return lines
        if "diabetes" in p.flags and p.a1c_tested and rng.random() < 0.55:
            ptr = (dx.index(next(c for c in p.conditions if c.startswith("E1"))) + 1,)
            level = min(3, max(0, p.a1c_level + rng.choice((0, 0, 0, 0, -1, 1))))
            lines.append(("83036", ("QW",) if rng.random() < 0.5 else (), 1, ptr))
            lines.append((ref.CPT2_HBA1C[level], (), 1, ptr))
        if "hypertension" in p.flags and p.bp_coded and rng.random() < 0.75:
            ptr = (dx.index(ref.HYPERTENSION) + 1,)
            if p.bp_controlled and rng.random() < 0.92:
                sys_c = rng.choice(ref.CPT2_SYSTOLIC[:2])
                dia_c = rng.choice(ref.CPT2_DIASTOLIC[:2])
            else:
                sys_c = rng.choices(ref.CPT2_SYSTOLIC, (10, 20, 70))[0]
                dia_c = rng.choices(ref.CPT2_DIASTOLIC, (30, 30, 40))[0] if sys_c == "3077F" else "3080F"
            lines.append((sys_c, (), 1, ptr))
            lines.append((dia_c, (), 1, ptr))
        return lines

    def _visit_dx(self, p: Person, rng: random.Random, reason: str | None) -> list[str]:
        dx = [reason] if reason else []
        for c in p.conditions:
            if c.startswith("Z5") or c.startswith("Z6"):
                if rng.random() < 0.45:
                    dx.append(c)
            elif c.startswith("E66"):
                if rng.random() < 0.6:
                    dx.append(c)
            else:
                dx.append(c)
        if not dx:
            dx = [rng.choice(("J069", "M545", "R051", "Z23", "L309", "R5383"))]
        return dx[:12]

    def _office(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date,
                years: float, t: int) -> None:
        prac = self.practices[p.practice]
        out = hist.services
        if p.engaged:
            n = poisson(rng, OFFICE_RATE[t] * years)
            for _ in range(n):
                day = _weekday(_rand_day(rng, lo, hi), rng, lo, hi)
                em = rng.choices(("99212", "99213", "99214", "99215"), (5, 52, 36, 7))[0]
                dx = self._visit_dx(p, rng, None)
                lines = self._visit_lines(p, rng, em, dx, True)
                pos = "10" if rng.random() < 0.08 else "11"
                out.append(Service(day, "office", lines, dx, pos, prac.npi, p.pcp_npi))
            if rng.random() < 0.55 * min(1.0, years):
                day = _weekday(_rand_day(rng, lo, hi), rng, lo, hi)
                if p.contract_id == ref.CONTRACT_MA:
                    em, reason = "G0439", "Z0000"
                else:
                    em = "99395" if p.age < 40 else "99396" if p.age < 65 else "99397"
                    reason = "Z0000"
                dx = self._visit_dx(p, rng, reason)
                lines = self._visit_lines(p, rng, em, dx, True)
                lines += [("80053", (), 1, (1,)), ("85025", (), 1, (1,)), ("80061", (), 1, (1,)),
                          ("36415", (), 1, (1,))]
                if day.month >= 9 and rng.random() < 0.5:
                    lines += [("90686", (), 1, (1,)), ("G0008", (), 1, (1,))]
                out.append(Service(day, "preventive", lines, dx, "11", prac.npi, p.pcp_npi))
        # follow-up after discharges home
        for s in hist.stays:
            if s.kind != "inpatient" or s.disposition in ("20", "07"):
                continue
            if rng.random() < (0.7 if p.engaged else 0.35):
                gap = rng.randint(2, 13) if rng.random() < 0.55 else rng.randint(1, 45)
                day = s.discharge.date() + timedelta(days=gap)
                if day >= hi:
                    continue
                tcm = gap <= 14 and rng.random() < 0.6
                em = ("99496" if gap <= 7 and p.risk_tier in ("high", "complex") else "99495") if tcm else "99214"
                dx = self._visit_dx(p, rng, s.dx[0][0])
                lines = self._visit_lines(p, rng, em, dx, True)
                out.append(Service(day, "followup", lines, dx, "11", prac.npi, p.pcp_npi))

    def _screenings(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date) -> None:
        cfg = self.cfg
        plan: dict[str, object] = {}
        age_end = p.age + 1
        if 45 <= age_end <= 75 and "crc" not in p.flags:
            r = rng.random()
            start = cfg.start
            if r < 0.48:
                plan["colonoscopy"] = start - timedelta(days=rng.randint(200, 9 * 365))
            elif r < 0.54:
                plan["colonoscopy"] = start - timedelta(days=rng.randint(10 * 365 + 30, 12 * 365))
                if rng.random() < 0.3:
                    plan["fit_now"] = True
            elif r < 0.62:
                plan["colonoscopy_now"] = True
            elif r < 0.74:
                plan["fit_now"] = True
            elif r < 0.80:
                plan["fit"] = date(start.year - 1, rng.randint(1, 12), rng.randint(1, 28))
            elif r < 0.83:
                plan["sdna"] = start - timedelta(days=rng.randint(60, 700))
        if p.sex == "F" and 40 <= age_end <= 74 and "mastectomy" not in p.flags:
            r = rng.random()
            if r < 0.50:
                last = cfg.start - timedelta(days=rng.randint(30, 450))
                plan["mammo"] = last
                if rng.random() < 0.6:
                    plan["mammo_now_after"] = last + timedelta(days=rng.randint(335, 420))
            elif r < 0.68:
                plan["mammo_now_after"] = lo
            elif r < 0.78:
                plan["mammo"] = cfg.start - timedelta(days=rng.randint(3 * 365, 5 * 365))
        p.extra["screening_plan"] = plan
        prac = self.practices[p.practice]
        in_window = [lo, hi]

        def when(after: date | None = None) -> date | None:
            a = max(in_window[0], after) if after else in_window[0]
            if a >= in_window[1]:
                return None
            return _weekday(_rand_day(rng, a, in_window[1]), rng, a, in_window[1])

        if plan.get("colonoscopy_now"):
            d = when()
            if d:
                code = rng.choices(("45378", "G0121", "45380"), (60, 25, 15))[0]
                hist.services.append(Service(d, "colonoscopy", [(code, (), 1, (1,))], ["Z1211"], "22",
                                             ref.GI_GROUP_NPI, ref.GI_PHYSICIAN_NPI))
        if plan.get("fit_now"):
            d = when()
            if d:
                code = rng.choice(("82274", "G0328"))
                hist.services.append(Service(d, "fit", [(code, (), 1, (1,))], ["Z1212"], "81",
                                             prac.npi, p.pcp_npi))
        after = plan.get("mammo_now_after")
        if isinstance(after, date):
            d = when(after)
            if d:
                lines = [("77067", (), 1, (1,))] + ([("77063", (), 1, (1,))] if rng.random() < 0.5 else [])
                hist.services.append(Service(d, "mammo", lines, ["Z1231"], "22", ref.IMAGING_NPI,
                                             ref.IMAGING_NPI))
        hist.services.sort(key=lambda s: s.day)

    def _professional_for_hospital(self, p: Person, rng: random.Random, hist: CareHistory) -> None:
        for s in hist.stays:
            if s.kind == "cancelled":
                continue
            dx = [c for c, _ in s.dx]
            if s.kind == "observation":
                lines = [("99223", (), 1, (1,))]
            else:
                days = (s.discharge.date() - s.admit.date()).days
                lines = [("99223", (), 1, (1,))]
                lines += [(("99232" if rng.random() < 0.7 else "99233"), (), 1, (1,)) for _ in range(min(days - 1, 5))]
                lines.append(("99238", (), 1, (1,)))
            hist.services.append(Service(s.admit.date(), "hospitalist", lines, dx, "21" if s.kind == "inpatient" else "22",
                                         ref.HOSPITALIST_NPI, ref.ATTENDINGS[s.attending][0],
                                         end_day=s.discharge.date()))
            if s.via_ed:
                hist.services.append(Service(s.via_ed.date(), "ed", [("99285", (), 1, (1,))], dx, "23",
                                             ref.ED_GROUP_NPI, ref.ED_PHYSICIAN_NPI))
        for e in hist.ed_visits:
            hist.services.append(Service(e.arrival.date(), "ed", [(e.level, (), 1, (1,))],
                                         [c for c, _ in e.dx], "23", ref.ED_GROUP_NPI, ref.ED_PHYSICIAN_NPI))
        hist.services.sort(key=lambda s: s.day)

    def _history(self, p: Person, rng: random.Random, hist: CareHistory) -> None:
        """Prior years' claims: chronic diagnoses on a visit last year; past screenings."""
        cfg = self.cfg
        prac = self.practices[p.practice]
        prior = cfg.start.year - 1
        chronic = [c for c in p.conditions if not c.startswith(("Z5", "Z6"))]
        if chronic and p.engaged:
            day = _weekday(date(prior, rng.randint(1, 12), rng.randint(1, 28)), rng,
                           date(prior, 1, 1), cfg.start)
            dx = chronic[:12]
            em = rng.choice(("99213", "99214"))
            hist.history.append(Service(day, "history", [(em, (), 1, tuple(range(1, min(4, len(dx)) + 1)))],
                                        dx, "11", prac.npi, p.pcp_npi))
        plan = p.extra.get("screening_plan", {})
        if isinstance(plan.get("colonoscopy"), date):
            hist.history.append(Service(plan["colonoscopy"], "colonoscopy", [("45378", (), 1, (1,))], ["Z1211"],
                                        "22", ref.GI_GROUP_NPI, ref.GI_PHYSICIAN_NPI))
        if isinstance(plan.get("fit"), date):
            hist.history.append(Service(plan["fit"], "fit", [("82274", (), 1, (1,))], ["Z1212"], "81",
                                        prac.npi, p.pcp_npi))
        if isinstance(plan.get("sdna"), date):
            hist.history.append(Service(plan["sdna"], "sdna", [("81528", (), 1, (1,))], ["Z1212"], "81",
                                        prac.npi, p.pcp_npi))
        if isinstance(plan.get("mammo"), date):
            hist.history.append(Service(plan["mammo"], "mammo", [("77067", (), 1, (1,))], ["Z1231"], "22",
                                        ref.IMAGING_NPI, ref.IMAGING_NPI))
        hist.history.sort(key=lambda s: s.day)
