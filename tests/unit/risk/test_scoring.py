"""CMS-HCC scores through hccinfhir, checked by hand on a few members.

The hand computations below add the coefficients of the segment's column for the demographic
cell, the HCCs left after the hierarchies, the interactions and the payment-HCC count term.
The coefficient values are those of the CMS-HCC model tables the libraries carry (V28 as
calibrated for PY2024-2026, V24 as of PY2025); each member's total was also computed with the
independent implementation ``risk-adjustment-model`` 0.7.1 (run outside the project's
interpreter: it requires Python >= 3.12) and agreed to the third decimal on every case here,
V28 and V24. That cross-check is why ``hccinfhir`` was kept: same numbers, and it installs on
the platform's Python 3.11 and names the diagnoses behind each HCC.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.risk.domain.scoring import DiagnosisSource, HccScorer, ScoringConfig
from services.risk.domain.segments import Segment, age_on, parse_segment_row

V28 = HccScorer(ScoringConfig("V28", 2026, 1.067, 0.059))
V24 = HccScorer(ScoringConfig("V24", 2025, 1.153, 0.059))


def dx(*codes: str) -> list[DiagnosisSource]:
    return [DiagnosisSource(c, f"CLM-{c}", date(2026, 3, 1)) for c in codes]


def test_member_a_v28_community_non_dual_aged_with_heart_failure_copd_diabetes_ckd4():
    # F 72, community non-dual aged (CNA):
    #   F70_74 0.395
    #   E1122 -> HCC 37 Diabetes with Chronic Complications       0.166
    #   I5022 -> HCC 226 Heart Failure, Except End-Stage and Acute 0.360
    #   J449  -> HCC 280 COPD and other chronic lung disorders     0.319
    #   N184  -> HCC 327 CKD, Severe (Stage 4)                      0.514
    #   DIABETES_HF_V28 0.112 + HF_CHR_LUNG_V28 0.078 + HF_KIDNEY_V28 0.176 + D4 0.000
    # raw = 0.395 + 0.166 + 0.360 + 0.319 + 0.514 + 0.112 + 0.078 + 0.176 = 2.120
    # payment (PY2026) = round(round(2.120 / 1.067, 3) x (1 - 0.059), 3) = round(1.987 x 0.941, 3) = 1.870
    s = V28.score(age=72, sex="F", segment=Segment(), diagnoses=dx("E1122", "I5022", "J449", "N184"))
    assert s.segment == "CNA" and s.demographic_cell == "F70_74" and s.demographic_coefficient == 0.395
    assert {h.hcc: h.coefficient for h in s.hccs} == {"37": 0.166, "226": 0.36, "280": 0.319, "327": 0.514}
    assert dict(s.other_terms) == {"DIABETES_HF_V28": 0.112, "HF_CHR_LUNG_V28": 0.078, "HF_KIDNEY_V28": 0.176,
                                   "D4": 0.0}
    assert s.raw == pytest.approx(2.120, abs=1e-9)
    assert s.payment == pytest.approx(1.870, abs=1e-9)
    heart = next(h for h in s.hccs if h.hcc == "226")
    assert [(d.code, d.claim_id) for d in heart.diagnoses] == [("I5022", "CLM-I5022")]


def test_member_b_v28_hierarchies_drop_the_lesser_diabetes_and_cancer():
    # M 67, CNA: E119 (HCC 38) and E1122 (HCC 37): 37 outranks 38, only 37 stays (0.166);
    # C50911 breast cancer (HCC 23) and C787 secondary liver cancer (HCC 17): 17 outranks 23 (4.209).
    # raw = M65_69 0.332 + 4.209 + 0.166 + D2 0.000 = 4.707
    s = V28.score(age=67, sex="M", segment=Segment(), diagnoses=dx("E119", "E1122", "C50911", "C787"))
    assert sorted(h.hcc for h in s.hccs) == ["17", "37"]
    assert s.raw == pytest.approx(4.707, abs=1e-9)


def test_member_c_v28_full_dual_disabled_with_a_substance_use_and_psychiatric_interaction():
    # F 60, OREC 1, full-benefit dual disabled (CFD): F60_64 0.502; F200 schizophrenia HCC 151 0.414;
    # F1020 alcohol dependence HCC 139 0.250; I5022 HCC 226 0.537 (CFD column);
    # gSubUseDisorder_gPsych_V28 0.152; D3 0.000. raw = 0.502 + 0.414 + 0.250 + 0.537 + 0.152 = 1.855
    seg = Segment(dual="full", orec="1", known=True)
    s = V28.score(age=60, sex="F", segment=seg, diagnoses=dx("F200", "F1020", "I5022"))
    assert s.segment == "CFD"
    assert s.raw == pytest.approx(1.855, abs=1e-9)


def test_member_d_v28_long_term_institutional():
    # M 80, institutional (INS), full dual: M80_84 1.238; G309 Alzheimer's HCC 127 0.000 (INS column);
    # L89154 pressure ulcer of sacral region, stage 4: HCC 379 1.420; LTIMCAID 0.130; D2 0.000.
    # raw = 1.238 + 0.000 + 1.420 + 0.130 = 2.788
    seg = Segment(dual="full", institutional=True, known=True)
    s = V28.score(age=80, sex="M", segment=seg, diagnoses=dx("G309", "F0390", "L89154"))
    assert s.segment == "INS"
    assert s.raw == pytest.approx(2.788, abs=1e-9)


def test_member_a_under_v24_maps_to_the_older_hccs():
    # V24, F 72 CNA: F70_74 0.386; HCC 18 diabetes w/ chronic complications 0.302; HCC 85 CHF 0.331;
    # HCC 111 COPD 0.335; HCC 137 CKD stage 4 0.289; DIABETES_CHF 0.121; CHF_gCopdCF 0.155;
    # HCC85_gRenal_V24 0.156; D4 0.006. raw = 2.081
    s = V24.score(age=72, sex="F", segment=Segment(), diagnoses=dx("E1122", "I5022", "J449", "N184"))
    assert sorted(h.hcc for h in s.hccs) == ["111", "137", "18", "85"]
    assert s.model == "CMS-HCC V24"
    assert s.raw == pytest.approx(2.081, abs=1e-9)


def test_no_diagnoses_scores_demographics_only():
    # F 70, partial-benefit dual aged (CPA): F70_74 in the CPA column 0.423, nothing else.
    s = V28.score(age=70, sex="F", segment=Segment(dual="partial", known=True), diagnoses=[])
    assert s.segment == "CPA" and s.hccs == () and s.raw == pytest.approx(0.423, abs=1e-9)


def test_the_model_needs_a_sex_it_knows():
    with pytest.raises(ValueError):
        V28.score(age=70, sex="U", segment=Segment(), diagnoses=[])


def test_normalization_comes_from_the_payment_years_data():
    data = {"coding_adjustment": 0.059, "years": {2026: {"V28": 1.067}}}
    assert ScoringConfig.from_data(data, "V28", 2026).normalization == 1.067
    with pytest.raises(ValueError, match="no normalization factor for V24 in payment year 2026"):
        ScoringConfig.from_data(data, "V24", 2026)


def test_age_on_birthdays_and_leap_days():
    assert age_on(date(1954, 3, 14), date(2026, 3, 13)) == 71
    assert age_on(date(1954, 3, 14), date(2026, 3, 14)) == 72
    assert age_on(date(1956, 2, 29), date(2026, 2, 28)) == 69
    assert age_on(date(1956, 2, 29), date(2026, 3, 1)) == 70


def test_segment_rows_are_checked_and_name_the_column():
    assert parse_segment_row({"member_id": "M1", "dual_status": "full", "institutional": "yes", "orec": "1"}) == \
        ("M1", Segment("full", True, "1", True))
    with pytest.raises(ValueError, match="dual_status"):
        parse_segment_row({"member_id": "M1", "dual_status": "sometimes"})
    with pytest.raises(ValueError, match="orec"):
        parse_segment_row({"member_id": "M1", "orec": "7"})
