"""Platform events for the notifications tests: unique members, times near now unless given."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from shared.events import (
    AdtEventV1, AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1,
    Clinician, Diagnosis, EligibilitySpan, GapClosedV1, GapOpenedV1, Location, MemberRosterV1, MrnXref,
    PatientIdentifier, TaskLifecycleV1,
)

UTC = timezone.utc


def now() -> datetime:
    return datetime.now(UTC)


def member(prefix: str = "M") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def _env(cls, member_id: str | None, at: datetime | None, **kw) -> dict:
    at = at or now()
    return cls.envelope(occurred_at=at, recorded_at=now(), source="test", member_id=member_id,
                        event_id=uuid.uuid4(), **kw)


def roster(member_id: str, *, practice: str = "P001", group: str = "HG-NORTH", program: str = "medicare-advantage",
           mrn: str | None = None, authority: str = "MERCY", status: str = "active",
           at: datetime | None = None) -> MemberRosterV1:
    return MemberRosterV1(**_env(MemberRosterV1, member_id, at), given_name="Ada", family_name="Example",
                          birth_date=date(1958, 3, 14), sex="F", pcp_practice_id=practice, pcp_npi="1234567893",
                          hospitalist_group=group, pod="pod-east", contract_id="MMO-2026", program=program,
                          status=status, mrns=(MrnXref(mrn=mrn or member_id[-8:], assigning_authority=authority),),
                          eligibility=(EligibilitySpan(start=date(2025, 1, 1)),))


def admit(member_id: str, *, practice: str = "P001", group: str = "HG-NORTH", facility: str = "MERCY",
          visit: str | None = None, kind: str = "inpatient_admit", at: datetime | None = None) -> AlertRaisedV1:
    at = at or now()
    alert_id = uuid.uuid4()
    return AlertRaisedV1(
        **_env(AlertRaisedV1, member_id, at, causation_id=uuid.uuid4()), alert_id=alert_id, kind=kind,
        encounter_key=f"{facility}|{visit or uuid.uuid4().hex[:8]}", facility=facility,
        patient_class="I" if kind == "inpatient_admit" else "E", trigger="A01" if kind == "inpatient_admit" else "A04",
        event_time=at, location=Location(facility=facility, point_of_care="4W", room="412", bed="A"),
        attending=Clinician(id="1922334455", family_name="Osler", given_name="William"),
        diagnoses=(Diagnosis(code="J18.9", system="I10", description="Pneumonia", diagnosis_type="A"),),
        pcp_practice_id=practice, pcp_npi="1234567893", hospitalist_group=group, pod="pod-east",
        program="medicare-advantage", contract_id="MMO-2026", received_at=now())


def transfer(alert: AlertRaisedV1, *, facility: str | None = None) -> AlertUpdatedV1:
    return AlertUpdatedV1(**_env(AlertUpdatedV1, alert.member_id, None), alert_id=alert.alert_id, trigger="A02",
                          location=Location(facility=facility or alert.facility, point_of_care="ICU", room="2",
                                            bed="B"))


def cancel_admit(alert: AlertRaisedV1) -> AlertRetractedV1:
    return AlertRetractedV1(**_env(AlertRetractedV1, alert.member_id, None), alert_id=alert.alert_id,
                            reason="A11 cancel admit")


def discharge(alert: AlertRaisedV1, *, disposition: str = "01", tcm: bool = True) -> CareTransitionV1:
    t = now()
    return CareTransitionV1(
        **_env(CareTransitionV1, alert.member_id, t), transition_id=uuid.uuid4(), encounter_key=alert.encounter_key,
        facility=alert.facility, patient_class="I", admit_time=alert.event_time, discharge_time=t,
        discharge_disposition=disposition, length_of_stay_days=3, tcm_applicable=tcm,
        contact_due=(t + timedelta(days=2)).date(), visit_due_high=(t + timedelta(days=7)).date(),
        visit_due_moderate=(t + timedelta(days=14)).date(), pcp_practice_id=alert.pcp_practice_id, pod="pod-east",
        contract_id="MMO-2026")


def cancel_discharge(tr: CareTransitionV1) -> CareTransitionCancelledV1:
    return CareTransitionCancelledV1(**_env(CareTransitionCancelledV1, tr.member_id, None),
                                     transition_id=tr.transition_id, reason="A13 cancel discharge")


def gap_opened(member_id: str, measure: str = "CMS130", practice: str = "P001") -> GapOpenedV1:
    return GapOpenedV1(**_env(GapOpenedV1, member_id, None), gap_key=f"{member_id}|{measure}|2026",
                       measure_id=measure, measure_version="v13", period_start=date(2026, 1, 1),
                       period_end=date(2026, 12, 31), reason="no colonoscopy on file", practice_id=practice,
                       contract_id="MMO-2026", due_date=date(2026, 12, 31))


def gap_closed(member_id: str, measure: str = "CMS130", practice: str = "P001") -> GapClosedV1:
    return GapClosedV1(**_env(GapClosedV1, member_id, None), gap_key=f"{member_id}|{measure}|2026",
                       measure_id=measure, measure_version="v13", period_start=date(2026, 1, 1),
                       period_end=date(2026, 12, 31), reason="colonoscopy on file", practice_id=practice,
                       contract_id="MMO-2026")


def task(member_id: str, *, due: date, status: str = "open", task_id: uuid.UUID | None = None,
         practice: str = "P001") -> TaskLifecycleV1:
    return TaskLifecycleV1(**_env(TaskLifecycleV1, member_id, None), task_id=task_id or uuid.uuid4(), kind="tcm",
                           reason_key="transition", queue="quality_nurse:pod-east", role="quality_nurse",
                           from_status=None, to_status=status, actor="system", due_date=due, practice_id=practice,
                           contract_id="MMO-2026")


def adt(member_id: str, *, trigger: str = "A01", mrn: str | None = None, facility: str = "MERCY",
        control_id: str | None = None) -> AdtEventV1:
    mrn = mrn or member_id[-8:]
    control_id = control_id or f"MSG{uuid.uuid4().hex[:12].upper()}"
    ts = now().strftime("%Y%m%d%H%M%S")
    raw = (f"MSH|^~\\&|EPICADT|{facility}|CCP|CCP|{ts}||ADT^{trigger}^ADT_A01|{control_id}|P|2.5.1\r"
           f"EVN|{trigger}|{ts}\rPID|1||{mrn}^^^{facility}^MR||Example^Ada||19580314|F\r"
           f"PV1|1|I|4W^412^A^{facility}||||1922334455^Osler^William||||||||||||V{control_id[-6:]}\r"
           f"DG1|1||J18.9^Pneumonia^I10||{ts[:8]}|A")
    return AdtEventV1(**_env(AdtEventV1, None, None, patient_key=f"{facility}|{mrn}"), trigger=trigger,
                      message_control_id=control_id, sending_application="EPICADT", sending_facility=facility,
                      hl7_version="2.5.1", patient_ids=(PatientIdentifier(id=mrn, assigning_authority=facility,
                                                                          id_type="MR"),),
                      patient_class="I", visit_number=f"V{control_id[-6:]}", raw=raw,
                      location=Location(facility=facility, point_of_care="4W", room="412", bed="A"),
                      attending=Clinician(id="1922334455", family_name="Osler", given_name="William"),
                      diagnoses=(Diagnosis(code="J18.9", system="I10", description="Pneumonia", diagnosis_type="A"),))
