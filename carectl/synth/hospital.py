"""Hospital encounters of one person: inpatient stays (with readmissions, transfers, cancels,
pre-admits, ED arrivals), observation stays, admissions entered in error, and ED visits.

Rates are per member-year, scaled by risk tier; the tier multipliers are normalised by the
tier mix so the population totals land on the configured rates.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from . import reference as ref
from .config import SynthConfig, add_months
from .encounters import (CareHistory, Counters, EdVisit, Registration, Stay, day_between, time_on)
from .population import Person, TIERS, mrn_for, poisson

ADM_MULT = (0.3, 0.8, 2.0, 5.0)     # by risk tier; normalised by ADM_NORM (the tier mix)
ADM_NORM = 0.74
ED_MULT = (0.6, 1.0, 1.8, 3.0)
ED_NORM = 0.94
READMIT_MULT = (0.6, 0.9, 1.2, 1.6)
READMIT_NORM = 1.1                  # discharges skew towards the higher tiers
OBSERVATION_PER_1000 = 6.0
CANCELLED_ADMIT_SHARE = 0.03       # A01 sent in error, then A11
VIA_ED_SHARE = 0.6
UNLISTED_MRN_BASE = 4_000_000       # MRN slots of hospital records the roster does not list (temp slots: 8M+)


class HospitalCare:
    def __init__(self, cfg: SynthConfig, hospitals: tuple[ref.Hospital, ...],
                 practices: tuple[ref.Practice, ...], counters: Counters) -> None:
        self.cfg = cfg
        self.hospitals = hospitals
        self.practices = practices
        self.counters = counters
        rs = cfg.readmission_share
        self.index_rate = cfg.admissions_per_1000 / 1000 * (1 - rs) / ADM_NORM
        self.readmit_p = rs * 0.95 / READMIT_NORM
        self.ed_rate = cfg.ed_visits_per_1000 / 1000 / ED_NORM

    def register(self, p: Person, rng: random.Random) -> Registration:
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


    def stays(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date,
               years: float, t: int) -> None:
        n_index = poisson(rng, self.index_rate * ADM_MULT[t] * years)
        starts = sorted(day_between(rng, lo, hi) for _ in range(n_index))
        n_obs = poisson(rng, OBSERVATION_PER_1000 / 1000 * ADM_MULT[t] / ADM_NORM * years)
        obs_days = sorted(day_between(rng, lo, hi) for _ in range(n_obs))
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
            day = day_between(rng, lo, hi)
            if p.died_on and day >= p.died_on:
                continue
            reg = self.register(p, rng)
            admit = time_on(day, rng, 0, 24)
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
        reg = self.register(p, rng)
        hosp = self.hospitals[reg.hospital]
        via_ed = None
        if not elective and rng.random() < VIA_ED_SHARE:
            via_ed = time_on(day, rng, 0, 24) if rng.random() < 0.3 else time_on(day, rng, 8, 23.5)
            admit = via_ed + timedelta(minutes=rng.randint(90, 420))
        elif elective:
            admit = time_on(day, rng, 6, 9)
        else:
            admit = time_on(day, rng, 0, 24)
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
            stay.preadmit = time_on(day - timedelta(days=rng.randint(3, 14)), rng, 8, 17)
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
        reg = self.register(p, rng)
        hosp = self.hospitals[reg.hospital]
        admit = time_on(day, rng, 0, 24)
        return Stay(
            "observation", reg, self.counters.next_visit(), admit,
            admit + timedelta(hours=rng.uniform(20, 40)), [("R079", "Chest pain, unspecified")],
            unit=rng.choice(hosp.units), room=str(rng.randint(100, 599)),
            attending=rng.randrange(len(ref.ATTENDINGS)),
            convert_at=admit + timedelta(hours=rng.uniform(4, 16)))

    def ed_visits(self, p: Person, rng: random.Random, hist: CareHistory, lo: date, hi: date,
            years: float, t: int) -> None:
        n = poisson(rng, self.ed_rate * ED_MULT[t] * years)
        for _ in range(n):
            day = day_between(rng, lo, hi)
            arrival = time_on(day, rng, 0, 24) if rng.random() < 0.25 else time_on(day, rng, 8, 23.9)
            depart = arrival + timedelta(minutes=rng.randint(80, 420))
            if any(s.admit - timedelta(hours=12) <= arrival <= s.discharge + timedelta(hours=1)
                   for s in hist.stays) or depart.date() >= hi:
                continue
            reg = self.register(p, rng)
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
