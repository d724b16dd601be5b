"""People: rostered members (demographics, attribution, eligibility, conditions, risk tier)
and the hospitals' other patients who are not on any roster.

Each person gets its own ``random.Random`` seeded from (run seed, person index), so one
person's draws never shift another's, and the same seed gives the same population.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import reference as ref
from .config import SynthConfig, add_months

TIERS: tuple[str, ...] = ("low", "moderate", "high", "complex")

# prevalence of chronic conditions by age band (18-39, 40-64, 65+) before the correlation
# multipliers; calibrated so the adult totals land near public figures (diabetes ~11%,
# hypertension ~30%) for a 35% share of members 65+.
_P_HTN = (0.08, 0.30, 0.50)
_P_DIABETES = (0.03, 0.10, 0.175)
_P_OBESITY_CODED = (0.12, 0.20, 0.16)
_P_CKD = (0.01, 0.03, 0.11)
_P_CHF = (0.002, 0.012, 0.07)
_P_COPD = (0.01, 0.035, 0.10)
_P_SOCIAL = 0.07


def person_rng(seed: int, idx: int, stream: int = 0) -> random.Random:
    """The independent random stream of one person (``stream`` separates uses)."""
    return random.Random((seed & 0xFFFFFFFF) << 40 | (stream & 0xFF) << 32 | idx)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass(slots=True)
class Person:
    idx: int
    member_id: str                       # "" for a hospital patient not on the roster
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    age: int                             # age on the first day of the period
    street: str
    city: str
    state: str
    zip: str
    mrns: tuple[tuple[str, str], ...]    # (assigning authority, MRN) the roster knows
    practice: int
    pcp_npi: str
    contract_id: str
    program: str
    risk_tier: str
    eligibility_start: date
    eligibility_end: date | None
    conditions: tuple[str, ...] = ()     # chronic ICD-10 codes (no dot)
    flags: frozenset[str] = frozenset()  # diabetes, hypertension, obesity, ckd, chf, copd, social, crc, mastectomy, esrd
    a1c_level: int = 0                   # 0..3 → 3044F/3051F/3052F/3046F
    a1c_tested: bool = True
    bp_controlled: bool = True
    bp_coded: bool = True
    engaged: bool = True                 # sees the PCP at all
    died_on: date | None = None
    extra: dict = field(default_factory=dict)

    @property
    def rostered(self) -> bool:
        return bool(self.member_id)

    @property
    def mrn_field(self) -> str:
        return ";".join(f"{a}:{m}" for a, m in self.mrns)


def mrn_for(hospital: ref.Hospital, h_index: int, number: int) -> str:
    """A hospital's MRN for person/slot ``number``: unique per hospital (a bijection mod 9e6)."""
    n = (number * 7919 + h_index * 104729 + 1) % 9_000_000 + 1_000_000
    return f"{hospital.mrn_prefix}{n}"


def _band(age: int) -> int:
    return 0 if age < 40 else 1 if age < 65 else 2


def _age(rng: random.Random, ma_share: float) -> int:
    if rng.random() < ma_share:
        lo, hi = rng.choices(((65, 69), (70, 74), (75, 79), (80, 84), (85, 94)), (30, 27, 20, 13, 10))[0]
    else:
        lo, hi = rng.choices(((18, 29), (30, 39), (40, 49), (50, 64)), (22, 23, 21, 34))[0]
    return rng.randint(lo, hi)


def make_person(cfg: SynthConfig, hospitals: tuple[ref.Hospital, ...],
                practices: tuple[ref.Practice, ...], idx: int, rostered: bool = True) -> Person:
    """Person ``idx`` (0-based). Members are 0..N-1; non-rostered patients come after."""
    rng = person_rng(cfg.seed, idx)
    age = _age(rng, cfg.ma_share)
    sex = "F" if rng.random() < (0.52 if age < 65 else 0.56) else "M"
    birth = cfg.start - timedelta(days=365 * age + (age // 4) + rng.randint(1, 364))
    given = rng.choice(ref.GIVEN_F if sex == "F" else ref.GIVEN_M)
    family = rng.choice(ref.FAMILY_DELIMITED) if rng.random() < 0.003 else rng.choice(ref.FAMILY)
    city, state, zipc = rng.choice(ref.CITIES)
    street = f"{rng.randint(1, 9999)} {rng.choice(ref.STREETS)}"

    practice = rng.randrange(len(practices))
    prac = practices[practice]
    pcp_npi = rng.choice(prac.providers)[0]

    # MRNs: most members are known at 2-4 hospitals, the practice's home hospital first.
    r = rng.random()
    n_mrn = 0 if r < 0.05 else 1 if r < 0.15 else rng.randint(2, 4)
    n_mrn = min(n_mrn, len(hospitals))
    order = [prac.home_hospital] + [h for h in rng.sample(range(len(hospitals)), len(hospitals))
                                    if h != prac.home_hospital]
    mrns = tuple((hospitals[h].authority, mrn_for(hospitals[h], h, idx)) for h in order[:n_mrn])
    if not rostered:
        mrns = tuple((hospitals[h].authority, mrn_for(hospitals[h], h, idx)) for h in order[:max(1, n_mrn)])

    # conditions, correlated through obesity
    b = _band(age)
    flags: set[str] = set()
    conditions: list[str] = []
    obese = rng.random() < _P_OBESITY_CODED[b]
    if obese:
        flags.add("obesity")
        conditions.append(rng.choices(ref.OBESITY, (50, 20, 15, 10, 5))[0])
    if rng.random() < _P_HTN[b] * (1.5 if obese else 0.89):
        flags.add("hypertension")
        conditions.append(ref.HYPERTENSION)
    if rng.random() < _P_DIABETES[b] * (2.0 if obese else 0.78) * (1.25 if "hypertension" in flags else 0.9):
        flags.add("diabetes")
        conditions.append(rng.choices(ref.DIABETES, (70, 10, 10, 10))[0])
    ckd_p = _P_CKD[b] * (2.5 if "diabetes" in flags else 1.0) * (1.4 if "hypertension" in flags else 0.8)
    if rng.random() < ckd_p:
        flags.add("ckd")
        code = rng.choices(ref.CKD, ref.CKD_WEIGHTS)[0]
        conditions.append(code)
        if code == "N186":
            flags.add("esrd")
    if rng.random() < _P_CHF[b] * (2.0 if "hypertension" in flags else 0.6):
        flags.add("chf")
        conditions.append(ref.CHF)
    if rng.random() < _P_COPD[b]:
        flags.add("copd")
        conditions.append(ref.COPD)
    if rng.random() < _P_SOCIAL:
        flags.add("social")
        conditions.extend(rng.sample(ref.SOCIAL, rng.choice((1, 1, 2))))
    if age >= 50 and rng.random() < 0.006:
        flags.add("crc")
        conditions.append(ref.COLORECTAL_CANCER)
    if sex == "F" and age >= 40 and rng.random() < 0.005:
        flags.add("mastectomy")
        conditions.append(ref.BILATERAL_MASTECTOMY)

    chronic = sum(1 for f in ("hypertension", "diabetes", "ckd", "chf", "copd") if f in flags)
    score = (chronic * 1.0 + (1.5 if "chf" in flags else 0) + (1.0 if "esrd" in flags else 0)
             + (0.5 if "obesity" in flags else 0) + (0.5 if "social" in flags else 0)
             + (0.5 if age >= 75 else 0) + (0.5 if age >= 85 else 0) + rng.gauss(0, 0.6))
    tier = "complex" if score >= 3.4 else "high" if score >= 2.0 else "moderate" if score >= 0.9 else "low"

    contract = ref.CONTRACT_MA if age >= 65 else ref.CONTRACT_COMMERCIAL
    if tier == "complex":
        program = "complex-care"
    elif chronic >= 2:
        program = "chronic-care"
    else:
        program = "medicare-advantage" if contract == ref.CONTRACT_MA else "commercial-pcmh"

    # eligibility: most continue from before the period; some join or leave during it
    scale = min(1.0, cfg.months / 12)
    months_in = cfg.month_starts()
    if len(months_in) > 1 and rng.random() < 0.09 * scale:
        elig_start = rng.choice(months_in[1:])
    else:
        elig_start = add_months(cfg.start.replace(day=1), -rng.randint(1, 96))
    elig_end: date | None = None
    if rng.random() < 0.08 * scale:
        last_month = rng.choice(months_in)
        end = add_months(last_month, 1) - timedelta(days=1)
        if end >= elig_start and end < cfg.end:
            elig_end = end

    p = Person(
        idx=idx, member_id=f"M{idx + 1:07d}" if rostered else "", given_name=given,
        family_name=family, birth_date=birth, sex=sex, age=age, street=street, city=city,
        state=state, zip=zipc, mrns=mrns, practice=practice, pcp_npi=pcp_npi,
        contract_id=contract, program=program, risk_tier=tier, eligibility_start=elig_start,
        eligibility_end=elig_end, conditions=tuple(conditions), flags=frozenset(flags),
    )
    if "diabetes" in flags:
        p.a1c_level = rng.choices((0, 1, 2, 3), (45, 22, 13, 20))[0]
        p.a1c_tested = rng.random() < 0.86
    if "hypertension" in flags:
        p.bp_controlled = rng.random() < 0.62
        p.bp_coded = rng.random() < 0.9
    p.engaged = rng.random() < (0.84 if tier == "low" else 0.93)
    return p


def tier_index(tier: str) -> int:
    return TIERS.index(tier)
