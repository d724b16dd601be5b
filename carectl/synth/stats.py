"""Population statistics recorded in the manifest (rates per 1,000 member-years, prevalence)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from .config import SynthConfig
from .encounters import CareHistory


class PopulationStats:
    def __init__(self) -> None:
        self.member_days = 0
        self.inpatient = 0
        self.index_discharges = 0
        self.readmitted = 0
        self.ed = 0
        self.observation = 0
        self.deaths = 0
        self.flags: Counter[str] = Counter()
        self.tiers: Counter[str] = Counter()
        self.contracts: Counter[str] = Counter()
        self.ma_65 = 0
        self.with_mrns = 0
        self.joined = 0
        self.termed = 0

    def add(self, cfg: SynthConfig, hist: CareHistory) -> None:
        p = hist.person
        if not p.rostered:
            return
        lo = max(cfg.start, p.eligibility_start)
        hi = cfg.end if p.eligibility_end is None else min(cfg.end, p.eligibility_end + timedelta(days=1))
        self.member_days += max(0, (hi - lo).days)
        self.flags.update(p.flags)
        self.tiers[p.risk_tier] += 1
        self.contracts[p.contract_id] += 1
        self.ma_65 += p.age >= 65
        self.with_mrns += len(p.mrns) >= 2
        self.joined += p.eligibility_start > cfg.start
        self.termed += p.eligibility_end is not None
        self.deaths += p.died_on is not None
        inpatient = [s for s in hist.stays if s.kind == "inpatient"]
        self.inpatient += len(inpatient)
        self.observation += sum(1 for s in hist.stays if s.kind == "observation")
        self.ed += len(hist.ed_visits)
        for i, s in enumerate(inpatient):
            if s.disposition in ("20", "07"):
                continue
            self.index_discharges += 1
            if i + 1 < len(inpatient) and (inpatient[i + 1].admit.date() - s.discharge.date()).days <= 30:
                self.readmitted += 1

    def as_dict(self, members: int) -> dict[str, Any]:
        years = self.member_days / 365.25
        per = (lambda n: round(n / years * 1000, 1)) if years else (lambda n: 0.0)
        return {
            "member_years": round(years, 2),
            "inpatient_admissions": self.inpatient,
            "inpatient_admissions_per_1000": per(self.inpatient),
            "ed_visits": self.ed,
            "ed_visits_per_1000": per(self.ed),
            "observation_stays": self.observation,
            "readmission_share": round(self.readmitted / self.index_discharges, 4) if self.index_discharges else 0.0,
            "deaths": self.deaths,
            "prevalence": {k: round(v / members, 4) for k, v in sorted(self.flags.items())},
            "risk_tiers": dict(sorted(self.tiers.items())),
            "contracts": dict(sorted(self.contracts.items())),
            "share_65_plus": round(self.ma_65 / members, 4),
            "share_with_2plus_mrns": round(self.with_mrns / members, 4),
            "joined_during_period": self.joined,
            "termed_during_period": self.termed,
        }
