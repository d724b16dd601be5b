"""What a member's ADT history publishes: alerts, updates, retractions, transitions with the
TCM clock, readmissions — once each, with deterministic ids."""

from __future__ import annotations

from datetime import date, datetime

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1, ReadmissionV1,
    derive_id,
)

from services.admissions.domain.patient_state import PatientState, state_from_dict, state_to_dict
from services.admissions.domain.merges import adopt_unmatched, merge_patient
from services.admissions.domain.reconcile import apply_adt, apply_roster

from .builders import NOW, TZ, adt, apply_all, kinds, roster, ts

R = roster()
MEMBER = PatientState.for_member("M000001")


def only(events, cls):
    found = [e for e in events if isinstance(e, cls)]
    assert len(found) == 1, kinds(events)
    return found[0]


def test_inpatient_admit_raises_an_alert_with_roster_and_encounter_details():
    a01 = adt("A01", ts(2), admit=ts(2), control_id="A1")
    out = apply_adt(MEMBER, a01, roster=R, now=NOW)
    alert = only(out.events, AlertRaisedV1)
    assert alert.kind == "inpatient_admit" and alert.trigger == "A01" and alert.member_id == "M000001"
    assert alert.encounter_key == "MERCY|V88812" and alert.facility == "MERCY" and alert.patient_class == "I"
    assert alert.event_time == a01.occurred_at and alert.received_at == a01.recorded_at
    assert (alert.pcp_practice_id, alert.hospitalist_group, alert.pod, alert.contract_id, alert.program) == (
        "P001", "HG-NORTH", "pod-east", "MMO-2026", "medicare-advantage")
    assert alert.diagnoses[0].code == "J18.9" and alert.location.room == "412"
    assert alert.causation_id == a01.event_id
    assert alert.alert_id == derive_id(a01.event_id, "alert:M000001")
    assert alert.event_id == derive_id(a01.event_id, f"alert.raised:{alert.alert_id}")


def test_ed_registration_alerts_and_outpatient_registration_does_not():
    _, ed = apply_all(MEMBER, [adt("A04", ts(2), patient_class="E", control_id="ED1")], R)
    assert only(ed, AlertRaisedV1).kind == "ed_visit"
    _, clinic = apply_all(MEMBER, [adt("A04", ts(2), patient_class="O", control_id="O1")], R)
    assert clinic == []
    _, ed_a01 = apply_all(MEMBER, [adt("A01", ts(2), patient_class="E", control_id="ED2")], R)
    assert only(ed_a01, AlertRaisedV1).kind == "ed_visit"


def test_no_alert_for_a_member_not_eligible_or_termed():
    late_start = roster(start=date(2026, 4, 1))
    assert apply_all(MEMBER, [adt("A01", ts(2), control_id="N1")], late_start)[1] == []
    assert apply_all(MEMBER, [adt("A01", ts(2), control_id="N2")], roster(status="termed"))[1] == []


def test_a08_updates_without_a_second_alert_and_an_unchanged_a08_publishes_nothing():
    a01 = adt("A01", ts(2), control_id="U1")
    a08 = adt("A08", ts(3), diagnoses=("J18.9^Pneumonia^I10", "E11.9^Diabetes^I10"), control_id="U2")
    same = adt("A08", ts(3, 12), diagnoses=("J18.9^Pneumonia^I10", "E11.9^Diabetes^I10"), control_id="U3")
    _, events = apply_all(MEMBER, [a01, a08, same], R)
    assert kinds(events) == ["alert.raised", "alert.updated"]
    upd = only(events, AlertUpdatedV1)
    assert upd.trigger == "A08" and [d.code for d in upd.diagnoses] == ["J18.9", "E11.9"]
    assert upd.alert_id == only(events, AlertRaisedV1).alert_id


def test_a02_updates_the_location_and_a11_retracts():
    a01 = adt("A01", ts(2), control_id="T1")
    a02 = adt("A02", ts(3), location="ICU^2^B^MERCY", control_id="T2")
    a11 = adt("A11", ts(3, 12), control_id="T3")
    _, events = apply_all(MEMBER, [a01, a02, a11], R)
    assert kinds(events) == ["alert.raised", "alert.updated", "alert.retracted"]
    assert only(events, AlertUpdatedV1).location.point_of_care == "ICU"
    assert only(events, AlertRetractedV1).reason == "A11 cancel admit"


def test_discharge_emits_the_transition_with_the_tcm_clock_and_a13_cancels_it():
    a01 = adt("A01", ts(2), admit="20260302140000", control_id="D1")
    a03 = adt("A03", ts(6, 11), discharge="20260306113000", disposition="01", control_id="D2")
    a13 = adt("A13", ts(6, 12), control_id="D3")
    state, events = apply_all(MEMBER, [a01, a03], R)
    t = only(events, CareTransitionV1)
    assert t.transition_id == derive_id(a03.event_id, "transition:M000001")
    assert t.discharge_time == datetime(2026, 3, 6, 11, 30, tzinfo=TZ) and t.length_of_stay_days == 4
    assert (t.contact_due, t.visit_due_high, t.visit_due_moderate) == (date(2026, 3, 10), date(2026, 3, 13), date(2026, 3, 20))
    assert t.tcm_applicable and t.index_stay and not t.readmission
    assert (t.pcp_practice_id, t.pod, t.contract_id) == ("P001", "pod-east", "MMO-2026")
    _, more = apply_all(state, [a13], R)
    cancel = only(more, CareTransitionCancelledV1)
    assert cancel.transition_id == t.transition_id and cancel.reason == "A13 cancel discharge"


def test_expired_patient_gets_no_follow_up():
    _, events = apply_all(MEMBER, [adt("A01", ts(2), control_id="X1"),
                                   adt("A03", ts(5), discharge=ts(5), disposition="20", control_id="X2")], R)
    t = only(events, CareTransitionV1)
    assert not t.tcm_applicable and t.contact_due is None and t.visit_due_high is None and not t.index_stay


def test_ed_discharge_is_a_transition_without_tcm():
    _, events = apply_all(MEMBER, [adt("A04", ts(2), patient_class="E", control_id="E1"),
                                   adt("A03", ts(2, 18), patient_class="E", discharge=ts(2, 18), disposition="01",
                                       control_id="E2")], R)
    t = only(events, CareTransitionV1)
    assert t.patient_class == "E" and not t.tcm_applicable and not t.index_stay


def test_transfer_next_day_turns_the_first_discharge_into_a_non_index_without_tcm():
    first = [adt("A01", ts(2), control_id="F1"), adt("A03", ts(6), discharge=ts(6), disposition="02", control_id="F2")]
    state, events = apply_all(MEMBER, first, R)
    before = only(events, CareTransitionV1)
    assert not before.tcm_applicable and before.index_stay  # 02: sent to another acute hospital
    state, more = apply_all(state, [adt("A01", ts(7), visit="G1", facility="GENERAL", control_id="F3")], R)
    assert sorted(kinds(more)) == ["alert.raised", "care.transition"] and not only(more, AlertRaisedV1).readmission
    revised = only(more, CareTransitionV1)  # the same transition, re-published: no longer the index stay
    assert revised.transition_id == before.transition_id and not revised.index_stay and revised.event_id != before.event_id
    _, after = apply_all(state, [adt("A03", ts(10), visit="G1", facility="GENERAL", discharge=ts(10),
                                     disposition="01", control_id="F4")], R)
    t = only(after, CareTransitionV1)
    assert t.index_stay and t.tcm_applicable and t.encounter_key == "GENERAL|G1"


def test_readmission_is_flagged_on_the_alert_emitted_once_and_retracted_with_its_admit():
    index = [adt("A01", ts(2), control_id="I1"), adt("A03", ts(6), discharge=ts(6), disposition="01", control_id="I2")]
    readmit = adt("A01", ts(20), visit="V2", control_id="I3")
    state, _ = apply_all(MEMBER, index, R)
    state, events = apply_all(state, [readmit], R)
    assert only(events, AlertRaisedV1).readmission
    r = only(events, ReadmissionV1)
    assert (r.index_encounter_key, r.index_discharge_date, r.readmit_encounter_key, r.admit_date,
            r.days_since_discharge, r.retracted) == ("MERCY|V88812", date(2026, 3, 6), "MERCY|V2", date(2026, 3, 20), 14, False)
    _, cancel = apply_all(state, [adt("A11", ts(20, 12), visit="V2", control_id="I4")], R)
    gone = only(cancel, ReadmissionV1)
    assert gone.retracted and gone.readmission_id == r.readmission_id and gone.event_id != r.event_id
    assert gone.index_encounter_key == "MERCY|V88812"


def test_prior_visits_in_the_last_30_and_90_days_are_counted():
    history = [
        adt("A04", ts(1, month=1), visit="E0", patient_class="E", control_id="H1"),   # 60 days before
        adt("A01", ts(20, month=1), visit="V0", control_id="H2"),                      # 41 days before
        adt("A03", ts(25, month=1), visit="V0", discharge=ts(25, month=1), control_id="H3"),
        adt("A04", ts(20, month=2), visit="E1", patient_class="E", control_id="H4"),   # 10 days before
    ]
    _, events = apply_all(MEMBER, history + [adt("A01", ts(2), visit="NOW", control_id="H5")], R)
    alert = [e for e in events if isinstance(e, AlertRaisedV1) and e.encounter_key == "MERCY|NOW"][0]
    assert (alert.admits_30d, alert.admits_90d, alert.ed_visits_30d, alert.ed_visits_90d) == (0, 1, 1, 2)


def test_redelivered_event_publishes_nothing_and_replay_gives_the_same_ids():
    seq = [adt("A01", ts(2), control_id="P1"), adt("A02", ts(3), location="ICU^1^A^MERCY", control_id="P2"),
           adt("A03", ts(5), discharge=ts(5), control_id="P3")]
    state, first = apply_all(MEMBER, seq, R)
    again = apply_adt(state, seq[1], roster=R, now=NOW)
    assert again.duplicate and again.events == [] and again.state is state
    _, replay = apply_all(MEMBER, seq, R)
    assert [e.event_id for e in replay] == [e.event_id for e in first]


def test_late_a01_after_its_a03_gives_the_transition_but_no_alert_for_a_stay_already_over():
    a01 = adt("A01", ts(2), control_id="L1")
    a03 = adt("A03", ts(6), discharge=ts(6), disposition="01", control_id="L2")
    state, events = apply_all(MEMBER, [a03, a01], R)
    assert kinds(events) == ["care.transition", "care.transition"]  # the late A01 fills in the admit time
    assert events[1].length_of_stay_days == 4 and events[0].transition_id == events[1].transition_id


def test_state_survives_storage_and_still_recognises_redelivery():
    seq = [adt("A01", ts(2), control_id="S1"), adt("A03", ts(5), discharge=ts(5), control_id="S2")]
    state, _ = apply_all(MEMBER, seq, R)
    loaded = state_from_dict(state_to_dict(state))
    assert loaded == state
    assert apply_adt(loaded, seq[0], roster=R, now=NOW).duplicate
    assert all(f.raw is None for f in loaded.facts.values()), "the raw message is not kept in state"


# ----------------------------------------------------------------------------- unmatched, roster, merge


def test_unmatched_patient_is_kept_and_applied_when_a_roster_entry_matches():
    unmatched = PatientState.for_patient("MERCY|100234")
    state, events = apply_all(unmatched, [adt("A01", ts(2), control_id="M1"),
                                           adt("A04", ts(1), visit="OLD", patient_class="E", control_id="M0"),
                                           adt("A03", ts(1, 18), visit="OLD", patient_class="E", discharge=ts(1, 18),
                                               control_id="M00")])
    assert events == [] and len(state.facts) == 3 and state.owner == "patient:MERCY|100234"
    src, dst = adopt_unmatched(state, MEMBER, roster(), now=NOW)
    assert src.state.facts == {} and src.events == []
    assert sorted(kinds(dst.events)) == ["alert.raised", "care.transition"]
    assert only(dst.events, AlertRaisedV1).encounter_key == "MERCY|V88812"  # the open stay; the old ED visit is over
    # a redelivery of an adopted event to the old record is recognised
    assert apply_adt(src.state, adt("A01", ts(2), control_id="M1"), roster=None, now=NOW).duplicate


def test_eligibility_added_later_raises_the_alert_for_a_member_still_in_house():
    state, events = apply_all(MEMBER, [adt("A01", ts(2), control_id="G1")], roster(start=date(2026, 4, 1)))
    assert events == []
    out = apply_roster(state, roster(start=date(2026, 3, 1)), now=NOW)
    assert kinds(out.events) == ["alert.raised"]


def test_a40_merge_moves_the_prior_records_encounters_to_the_survivor():
    prior_member = PatientState.for_member("M000002")
    prior_roster = roster("M000002", mrn="777")
    prior, prior_events = apply_all(prior_member, [adt("A01", ts(2), mrn="777", visit="PV", control_id="Z1")],
                                    prior_roster)
    assert kinds(prior_events) == ["alert.raised"]
    merge = adt("A40", ts(3), prior_mrn="777", control_id="Z2")
    out = apply_adt(MEMBER, merge, roster=R, now=NOW)
    assert out.merge_from == ("MERCY|777",) and out.events == []
    src, dst = merge_patient(prior, out.state, merge, prior_roster=prior_roster, survivor_roster=R, now=NOW)
    assert only(src.events, AlertRetractedV1).reason.startswith("A40 merge")
    raised = only(dst.events, AlertRaisedV1)
    assert raised.member_id == "M000001" and raised.encounter_key == "MERCY|PV"
    assert list(dst.encounters) == ["MERCY|PV"] and src.encounters == {}


def test_a12_cancel_transfer_puts_the_alert_back_in_the_old_bed():
    seq = [adt("A01", ts(2), control_id="B1"), adt("A02", ts(3), location="ICU^2^B^MERCY", control_id="B2"),
           adt("A12", ts(3, 11), location="", control_id="B3")]
    _, events = apply_all(MEMBER, seq, R)
    updates = [e for e in events if isinstance(e, AlertUpdatedV1)]
    assert [(u.trigger, u.location.point_of_care) for u in updates] == [("A02", "ICU"), ("A12", "4W")]


def test_ed_patient_admitted_with_a06_gets_an_inpatient_alert_too():
    seq = [adt("A04", ts(2), patient_class="E", control_id="S1"), adt("A06", ts(2, 16), patient_class="I", control_id="S2")]
    _, events = apply_all(MEMBER, seq, R)
    raised = [e for e in events if isinstance(e, AlertRaisedV1)]
    assert [(a.kind, a.trigger) for a in raised] == [("ed_visit", "A04"), ("inpatient_admit", "A06")]


def test_a_late_discharge_of_the_prior_stay_flags_the_open_alert_as_a_readmission():
    first = adt("A01", ts(2), control_id="R1")
    readmit = adt("A01", ts(20), visit="V2", control_id="R2")
    state, events = apply_all(MEMBER, [first, readmit], R)
    assert [a.readmission for a in events if isinstance(a, AlertRaisedV1)] == [False, False]
    late = adt("A03", ts(6), discharge=ts(6), disposition="01", control_id="R3")
    _, more = apply_all(state, [late], R)
    upd = only(more, AlertUpdatedV1)
    assert upd.readmission is True and upd.trigger == "A03"
    assert upd.alert_id == [a for a in events if isinstance(a, AlertRaisedV1)][1].alert_id
    assert only(more, ReadmissionV1).days_since_discharge == 14


def test_a_details_only_update_leaves_the_readmission_flag_unset():
    state, _ = apply_all(MEMBER, [adt("A01", ts(2), control_id="Q1")], R)
    _, more = apply_all(state, [adt("A02", ts(3), location="ICU^2^B^MERCY", control_id="Q2")], R)
    assert only(more, AlertUpdatedV1).readmission is None
