"""The fast scorer gives the library's answer: every field of a score that the service uses, for
generated members, compared with the straightforward path (``hccinfhir.calculate_raf`` called
once per member with the member's diagnosis codes, as the scorer did before it ran the
library's stages itself and remembered the model's answer per condition-category set).

The generated members cover both models, every segment (non-dual/full/partial dual, aged and
disabled, institutional, OREC 0-3), ages 0-104 (the age edits), both sexes (the sex edits) and
diagnosis codes drawn from the library's own ICD-10 -> CC table (so hierarchies and
interactions are hit), plus codes that map to nothing. The same scorer instance scores them
all, so later members are answered from its memo: a memo keyed too coarsely would fail here.
"""

from __future__ import annotations

import random
from datetime import date

import pytest
from hccinfhir.defaults import dx_to_cc_default, edits_default
from hccinfhir.model_calculate import calculate_raf

from services.risk.domain.scoring import LIBRARY_MODEL, DiagnosisSource, HccScorer, ScoringConfig
from services.risk.domain.segments import DUAL_STATUS_CODE, Segment

MEMBERS = 2500
UNMAPPED = ("Z0000", "R079", "J069", "M545", "K0889", "NOTACODE")


def reference(model: str, codes: list[str], age: int, sex: str, segment: Segment) -> dict:
    """The straightforward path: one calculate_raf call, read the way the scorer used to read it.

    The codes go in sorted and distinct, as the scorer always passed them: hccinfhir 0.4.0's age/sex
    edits keep one CC per diagnosis while iterating sets, so for a code that maps to two CCs and
    has an edit (e.g. I70535 at age 7) the answer depends on the order the codes went in."""
    r = calculate_raf(sorted(set(codes)), model_name=LIBRARY_MODEL[model], age=age, sex=sex,  # type: ignore[arg-type]
                      dual_elgbl_cd=DUAL_STATUS_CODE[segment.dual], orec=segment.orec, crec=segment.orec,
                      lti=segment.institutional)
    labels = {h.hcc: (h.label or "") for h in r.hcc_details}
    hccs = [(h, labels.get(h, ""), round(r.coefficients.get(h, 0.0), 3), tuple(sorted(r.cc_to_dx.get(h, ()))))
            for h in sorted(r.hcc_list, key=lambda h: (-r.coefficients.get(h, 0.0), h))]
    cell = r.demographics.category or ""
    others = tuple(sorted((k, round(v, 3)) for k, v in r.coefficients.items() if k not in set(r.hcc_list) and k != cell))
    return {"hccs": hccs, "cell": cell, "cell_coefficient": round(r.coefficients.get(cell, 0.0), 3),
            "others": others, "raw": round(r.risk_score, 3)}


def fast(scorer: HccScorer, codes: list[str], age: int, sex: str, segment: Segment) -> dict:
    s = scorer.score(age=age, sex=sex, segment=segment,
                     diagnoses=[DiagnosisSource(c, f"CLM-{i}", date(2026, 3, 1)) for i, c in enumerate(codes)])
    return {"hccs": [(h.hcc, h.label, h.coefficient, tuple(sorted({d.code for d in h.diagnoses}))) for h in s.hccs],
            "cell": s.demographic_cell, "cell_coefficient": s.demographic_coefficient, "others": s.other_terms,
            "raw": s.raw}


def members(model: str, n: int, seed: int):
    rng = random.Random(seed)
    library_model = LIBRARY_MODEL[model]
    mapped = sorted(code for code, m in dx_to_cc_default if m == library_model)
    edited = sorted(code for code, m in edits_default if m == library_model)
    # a small pool of common conditions (repeats: the memo answers) and the whole table (variety)
    common = rng.sample(mapped, 40)
    segments = [Segment(), Segment("full", False, "0", True), Segment("partial", False, "0", True),
                Segment("none", False, "1", True), Segment("full", False, "1", True), Segment("none", False, "2", True),
                Segment("partial", False, "3", True), Segment("full", True, "0", True), Segment("none", True, "1", True)]
    for _ in range(n):
        pool = rng.choice((common, common, mapped, edited))
        codes = rng.sample(pool, rng.choice((0, 1, 2, 3, 4, 6, 9)))
        if rng.random() < 0.3:
            codes.append(rng.choice(UNMAPPED))
        age = rng.choice((rng.randint(0, 104), rng.randint(60, 90), rng.randint(60, 90)))
        yield codes, age, rng.choice("FM"), rng.choice(segments)


@pytest.mark.parametrize("model", ["V28", "V24"])
def test_the_scorer_gives_calculate_rafs_answer_for_every_member(model):
    scorer = HccScorer(ScoringConfig(model, 2026, 1.0, 0.0))
    compared = 0
    for codes, age, sex, segment in members(model, MEMBERS, seed=15 if model == "V28" else 24):
        assert fast(scorer, codes, age, sex, segment) == reference(model, codes, age, sex, segment), \
            (model, codes, age, sex, segment)
        compared += 1
    assert compared == MEMBERS
    # the memo was used (the repeated conditions), and still every answer matched
    assert 0 < scorer.library_calls < scorer.scored == MEMBERS


def test_a_remembered_answer_is_not_given_to_other_demographics():
    # one condition set, demographics that differ in one input each, scored twice in turn
    scorer = HccScorer(ScoringConfig("V28", 2026, 1.0, 0.0))
    codes = ["E1122", "I5022", "J449"]
    cases = [(72, "F", Segment()), (72, "M", Segment()), (73, "F", Segment()), (60, "F", Segment()),
             (72, "F", Segment("full", False, "0", True)), (72, "F", Segment("partial", False, "0", True)),
             (72, "F", Segment("none", True, "0", True)), (72, "F", Segment("none", False, "1", True))]
    for _ in range(2):
        for age, sex, seg in cases:
            assert fast(scorer, codes, age, sex, seg) == reference("V28", codes, age, sex, seg), (age, sex, seg)
    assert scorer.library_calls == len(cases)
    assert len({reference("V28", codes, *c)["raw"] for c in cases}) >= 6   # the cases do differ
