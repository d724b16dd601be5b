"""What happens to one person in the period: hospital encounters (``hospital``) and
professional services (``office``), from the person's own random streams."""

from __future__ import annotations

from datetime import date, timedelta

from . import reference as ref
from .config import SynthConfig
from .encounters import CareHistory, Counters, EdVisit, Registration, Service, Stay

__all__ = ["CareModel", "CareHistory", "EdVisit", "Registration", "Service", "Stay"]
from .hospital import HospitalCare
from .office import OfficeCare
from .population import Person, TIERS, person_rng


class CareModel:
    def __init__(self, cfg: SynthConfig, hospitals: tuple[ref.Hospital, ...],
                 practices: tuple[ref.Practice, ...]) -> None:
        self.cfg = cfg
        self.hospitals = hospitals
        self.practices = practices
        self.counters = Counters()
        self.hospital = HospitalCare(cfg, hospitals, practices, self.counters)
        self.office = OfficeCare(cfg, practices)

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
        self.hospital.stays(p, rng, hist, lo, hi, years, t)
        if p.died_on is not None:
            hi = min(hi, p.died_on)
        self.hospital.ed_visits(p, rng, hist, lo, hi, years, t)
        if p.rostered:
            self.office.visits(p, rng, hist, lo, hi, years, t)
            self.office.screenings(p, rng, hist, lo, hi)
            self.office.professional_for_hospital(p, rng, hist)
            if self.cfg.history and p.eligibility_start < self.cfg.start:
                self.office.history(p, rng, hist)
        return hist
