"""Published state converges whatever the arrival order of a member's ADT events: the same
encounters, and the same transitions and readmissions in force with the same content."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.admissions.domain.patient_state import PatientState
from services.admissions.domain.readmissions import inpatient_stays, readmissions
from services.admissions.domain.reconcile import current_encounters

from .builders import adt, apply_all, roster, ts

R = roster()
HISTORY = [
    adt("A01", ts(2), admit=ts(2), control_id="O1"),
    adt("A02", ts(3), location="ICU^1^A^MERCY", control_id="O2"),
    adt("A03", ts(6), discharge=ts(6), disposition="01", control_id="O3"),
    adt("A01", ts(7), visit="T1", facility="GENERAL", admit=ts(7), control_id="O4"),       # next-day transfer
    adt("A03", ts(9), visit="T1", facility="GENERAL", discharge=ts(9), disposition="01", control_id="O5"),
    adt("A04", ts(12), visit="E1", patient_class="E", control_id="O6"),
    adt("A03", ts(12, 20), visit="E1", patient_class="E", discharge=ts(12, 20), control_id="O7"),
    adt("A01", ts(20), visit="V2", admit=ts(20), control_id="O8"),                          # readmission
    adt("A03", ts(24), visit="V2", discharge=ts(24), disposition="07", control_id="O9"),
    adt("A13", ts(24, 12), visit="V2", control_id="O10"),
    adt("A03", ts(25), visit="V2", discharge=ts(25), disposition="01", control_id="O11"),
]


def converged(state):
    active = {k: (r.kind, r.digest) for k, r in state.emitted.items() if r.active and r.kind != "alert"}
    enc = current_encounters(state)
    pairs = [(r.index.last.key, r.readmit.first.key) for r in readmissions(inpatient_stays(enc.values()))]
    return enc, active, pairs


BASELINE = converged(apply_all(PatientState.for_member("M000001"), HISTORY, R)[0])


def test_baseline_has_what_the_rules_say():
    enc, active, pairs = BASELINE
    assert pairs == [("GENERAL|T1", "MERCY|V2")]
    assert sorted(kind for kind, _ in active.values()) == ["readmission", "transition", "transition", "transition", "transition"]


@settings(max_examples=60, deadline=None)
@given(st.permutations(HISTORY))
def test_any_arrival_order_converges(order):
    state, _ = apply_all(PatientState.for_member("M000001"), order, R)
    assert converged(state) == BASELINE
