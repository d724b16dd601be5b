"""The same history in any order gives the same results (every measure, every status)."""

from datetime import date, timedelta

from hypothesis import given, settings as hsettings, strategies as st

from services.gaps.domain import ClinicalHistory, DiagnosisEvent, Discharge, ServiceEvent, evaluate_member

from .builders import CODES, member, settings

PROCS = ["99213", "99495", "98005", "45378", "82274", "81528", "77067", "3044F", "3046F", "3051F", "3052F",
         "83036", "3074F", "3075F", "3077F", "3078F", "3079F", "3080F", "19303", "G9473", "90935", "99284"]
DXS = ["E119", "I10", "C20", "Z9013", "R54", "I509", "O100", "N186", "Z515"]
BASE = date(2016, 1, 1)

days = st.integers(min_value=0, max_value=4100).map(lambda n: BASE + timedelta(days=n))
services = st.builds(
    lambda code, d, claim, pos, mod, val: ServiceEvent(
        code, d, code_system="HCPCS" if code[0].isalpha() else "CPT", claim_id=claim, place_of_service=pos,
        modifiers=mod, value=val),
    st.sampled_from(PROCS), days, st.sampled_from([None, "C1", "C2", "C3"]),
    st.sampled_from([None, "11", "23", "32"]), st.sampled_from([(), ("RT",), ("LT",), ("50",)]),
    st.just(None))
labs = st.builds(lambda d, v: ServiceEvent("4548-4", d, code_system="LOINC", value=v), days,
                 st.sampled_from(["6.5", "8.9", "9.0", "9.4", "12"]))
diagnoses = st.builds(DiagnosisEvent, st.sampled_from(DXS), days, st.sampled_from([None, "C1", "C9"]))
# Discharges crowd into a few days so that same-day ADT / claim pairs get merged.
discharges = st.builds(lambda d, disp, src, i: Discharge(f"D{i}", d, src, disposition=disp),
                       st.integers(0, 2).map(lambda n: date(2026, 3, 1) + timedelta(days=n)),
                       st.sampled_from([None, "01", "03", "20"]), st.sampled_from(["adt", "claim"]),
                       st.integers(0, 1))


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(services, labs), max_size=25), st.lists(diagnoses, max_size=8),
       st.lists(discharges, max_size=4), st.randoms(use_true_random=False),
       st.sampled_from([date(1950, 3, 1), date(1960, 7, 4), date(1975, 12, 31)]), st.sampled_from(["F", "M"]))
def test_evaluation_is_order_independent(svcs, dxs, dcs, rnd, birth, sex):
    m = member(birth, sex)
    s = settings(as_of=date(2026, 11, 20))
    baseline = evaluate_member(m, ClinicalHistory(tuple(svcs), tuple(dxs), tuple(dcs)), s, CODES)
    for _ in range(3):
        a, b, c = list(svcs), list(dxs), list(dcs)
        rnd.shuffle(a), rnd.shuffle(b), rnd.shuffle(c)
        assert evaluate_member(m, ClinicalHistory(tuple(a), tuple(b), tuple(c)), s, CODES) == baseline
