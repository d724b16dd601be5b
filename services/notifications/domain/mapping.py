"""Platform events -> the service's projections and the notifications they owe.

Each function is pure: it takes the event and what the projections hold, and returns the new
projection values and the notifications (ids ``uuid5(source event, topic)``, so a redelivered or
replayed event yields the same notifications, which the outbox drops as already known).

Sources (see ``topics.py``): encounter start/transfer/cancel from ``alerts.hospitalist`` (the
platform's own decision that an attributed member was admitted or registered in the ED, with
the attribution at event time), encounter end and care-transition-due from
``care.transitions``, merges and the HL7 feed from ``adt.events`` (matched to members through
the roster's MRN crosswalk), gap changes from ``gaps.events``, overdue tasks from
``outreach.tasks`` and the calendar day (``overdue.py``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.events import (
    AdtEventV1, AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionCancelledV1, CareTransitionV1,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, TaskLifecycleV1,
)

from . import topics as t
from .model import (
    Audience, EncounterFacts, GapFacts, Member, Notification, Span, TaskFacts, notification_id, patient_id,
)

Plain = dict[str, Any]


# ---------------------------------------------------------------------- members

def member_from_roster(e: MemberRosterV1) -> Member:
    return Member(
        member_id=e.member_id, practice_id=e.pcp_practice_id, contract_id=e.contract_id,
        hospitalist_group=e.hospitalist_group, program=e.program, pod=e.pod, pcp_npi=e.pcp_npi, status=e.status,
        given_name=e.given_name, family_name=e.family_name, birth_date=e.birth_date, sex=e.sex,
        eligibility=tuple(Span(s.start, s.end) for s in e.eligibility),
        mrns=tuple(f"{x.assigning_authority}|{x.mrn}" for x in e.mrns), as_of=e.occurred_at,
    )


def roster_applies(current: Member | None, e: MemberRosterV1) -> bool:
    """The latest snapshot wins by event time; a late, older snapshot changes nothing."""
    return current is None or current.as_of is None or current.as_of <= e.occurred_at


def patient_facts(member: Member | None, member_id: str) -> Plain:
    if member is None:
        return {"member_id": member_id, "fhir_id": patient_id(member_id)}
    return {"member_id": member_id, "fhir_id": patient_id(member_id), "given_name": member.given_name,
            "family_name": member.family_name, "birth_date": member.birth_date.isoformat() if member.birth_date
            else None, "sex": member.sex, "pcp_npi": member.pcp_npi, "practice_id": member.practice_id}


def audience(member: Member | None, member_id: str, **event_fields: str | None) -> Audience:
    """The event's own attribution where it carries one (attribution at event time), else the roster's."""
    base = {"practice_id": member.practice_id if member else None,
            "hospitalist_group": member.hospitalist_group if member else None,
            "contract_id": member.contract_id if member else None,
            "program": member.program if member else None,
            "pod": member.pod if member else None, "facility": None}
    for k, v in event_fields.items():
        if v is not None:
            base[k] = v
    return Audience(member_id=member_id, **base)


def _note(e, topic: str, aud: Audience, focus_type: str, focus_id: str, facts: Plain,
          occurred_at: datetime | None = None, hl7: str | None = None) -> Notification:
    return Notification(
        event_id=notification_id(e.event_id, topic), topic=topic, member_id=aud.member_id,
        occurred_at=occurred_at or e.occurred_at, recorded_at=e.recorded_at, source_event_id=e.event_id,
        audience=aud, focus_type=focus_type, focus_id=focus_id, facts=facts, hl7=hl7)


def _plain(model) -> Plain | None:
    return model.model_dump(mode="json") if model is not None else None


# ---------------------------------------------------------------------- encounters

def on_alert_raised(e: AlertRaisedV1, member: Member | None, before: EncounterFacts | None
                    ) -> tuple[EncounterFacts, list[Notification]]:
    enc = EncounterFacts(
        key=e.encounter_key, member_id=e.member_id, facility=e.facility,
        status=before.status if before and before.status in ("finished", "cancelled") else "in-progress",
        kind=e.kind if not (before and before.kind == "inpatient_admit") else before.kind,
        patient_class=e.patient_class or (before.patient_class if before else None),
        start=(before.start if before and before.start else e.event_time),
        end=before.end if before else None, disposition=before.disposition if before else None,
        location=_plain(e.location) or (before.location if before else None),
        attending=_plain(e.attending) or (before.attending if before else None),
        diagnoses=tuple(_plain(d) for d in e.diagnoses) or (before.diagnoses if before else ()),
        alert_id=str(e.alert_id), transition_id=before.transition_id if before else None,
        tcm=before.tcm if before else None, updated_at=e.occurred_at,
    )
    aud = audience(member, e.member_id, practice_id=e.pcp_practice_id, hospitalist_group=e.hospitalist_group,
                   contract_id=e.contract_id, program=e.program, pod=e.pod, facility=e.facility)
    facts = {"encounter": enc.as_dict(), "patient": patient_facts(member, e.member_id),
             "event": {"kind": e.kind, "trigger": e.trigger, "event_time": e.event_time.isoformat(),
                       "readmission": e.readmission, "admits_30d": e.admits_30d, "ed_visits_30d": e.ed_visits_30d,
                       "alert_id": str(e.alert_id),
                       "received_at": e.received_at.isoformat() if e.received_at else None}}
    return enc, [_note(e, t.ENCOUNTER_START, aud, "Encounter", enc.fhir_id, facts, occurred_at=e.event_time)]


def on_alert_updated(e: AlertUpdatedV1, member: Member | None, before: EncounterFacts | None
                     ) -> tuple[EncounterFacts | None, list[Notification]]:
    """A02 that moved the patient -> ``encounter-transfer`` (with the prior location); other
    updates (A08 details, the readmission flag) change the projection only."""
    if before is None:
        return None, []
    location = _plain(e.location)
    moved = e.trigger == "A02" and location is not None and location != before.location
    enc = replace(before, location=location or before.location,
                  prior_location=before.location if moved else before.prior_location,
                  patient_class=e.patient_class or before.patient_class,
                  attending=_plain(e.attending) or before.attending,
                  diagnoses=tuple(_plain(d) for d in e.diagnoses) or before.diagnoses, updated_at=e.occurred_at)
    if not moved:
        return enc, []
    old_facility = (before.location or {}).get("facility") or before.facility
    new_facility = location.get("facility") or before.facility
    aud = audience(member, e.member_id, facility=new_facility)
    facts = {"encounter": enc.as_dict(), "patient": patient_facts(member, e.member_id),
             "event": {"trigger": e.trigger, "from": before.location, "to": location,
                       "inter_facility": old_facility != new_facility, "alert_id": str(e.alert_id)}}
    return enc, [_note(e, t.ENCOUNTER_TRANSFER, aud, "Encounter", enc.fhir_id, facts)]


def on_alert_retracted(e: AlertRetractedV1, member: Member | None, before: EncounterFacts | None
                       ) -> tuple[EncounterFacts | None, list[Notification]]:
    if before is None:
        return None, []
    enc = replace(before, status="cancelled", updated_at=e.occurred_at)
    aud = audience(member, e.member_id, facility=before.facility)
    facts = {"encounter": enc.as_dict(), "patient": patient_facts(member, e.member_id),
             "event": {"what": "admission", "reason": e.reason, "alert_id": str(e.alert_id)}}
    return enc, [_note(e, t.ENCOUNTER_CANCEL, aud, "Encounter", enc.fhir_id, facts)]


def on_transition(e: CareTransitionV1, member: Member | None, before: EncounterFacts | None
                  ) -> tuple[EncounterFacts, list[Notification]]:
    tcm = {"applicable": e.tcm_applicable,
           "contact_due": e.contact_due.isoformat() if e.contact_due else None,
           "visit_due_high": e.visit_due_high.isoformat() if e.visit_due_high else None,
           "visit_due_moderate": e.visit_due_moderate.isoformat() if e.visit_due_moderate else None}
    enc = EncounterFacts(
        key=e.encounter_key, member_id=e.member_id, facility=e.facility,
        status="cancelled" if before and before.status == "cancelled" else "finished",
        kind=before.kind if before else ("inpatient_admit" if e.patient_class == "I" else None),
        patient_class=e.patient_class or (before.patient_class if before else None),
        start=e.admit_time or (before.start if before else None), end=e.discharge_time,
        disposition=e.discharge_disposition, location=before.location if before else None,
        prior_location=before.prior_location if before else None,
        attending=before.attending if before else None,
        diagnoses=tuple(_plain(d) for d in e.diagnoses) or (before.diagnoses if before else ()),
        alert_id=before.alert_id if before else None, transition_id=str(e.transition_id), tcm=tcm,
        updated_at=e.occurred_at,
    )
    aud = audience(member, e.member_id, practice_id=e.pcp_practice_id, contract_id=e.contract_id, pod=e.pod,
                   facility=e.facility)
    facts = {"encounter": enc.as_dict(), "patient": patient_facts(member, e.member_id),
             "event": {"discharge_time": e.discharge_time.isoformat(), "disposition": e.discharge_disposition,
                       "length_of_stay_days": e.length_of_stay_days, "readmission": e.readmission,
                       "transition_id": str(e.transition_id), "tcm": tcm}}
    out = [_note(e, t.ENCOUNTER_END, aud, "Encounter", enc.fhir_id, facts, occurred_at=e.discharge_time)]
    if e.tcm_applicable:
        out.append(_note(e, t.TRANSITION_DUE, aud, "Encounter", enc.fhir_id,
                         {**facts, "event": {**facts["event"], "action": "due"}}, occurred_at=e.discharge_time))
    return enc, out


def on_transition_cancelled(e: CareTransitionCancelledV1, member: Member | None, before: EncounterFacts | None
                            ) -> tuple[EncounterFacts | None, list[Notification]]:
    """A13 cancel discharge (or a merge that moved the stay): the encounter is open again and
    its TCM clock withdrawn."""
    if before is None:
        return None, []
    enc = replace(before, status="in-progress" if before.status == "finished" else before.status, end=None,
                  disposition=None, tcm=None, updated_at=e.occurred_at)
    aud = audience(member, e.member_id, facility=before.facility)
    facts = {"encounter": enc.as_dict(), "patient": patient_facts(member, e.member_id),
             "event": {"what": "discharge", "reason": e.reason, "transition_id": str(e.transition_id)}}
    out = [_note(e, t.ENCOUNTER_CANCEL, aud, "Encounter", enc.fhir_id, facts)]
    if before.tcm and before.tcm.get("applicable"):
        out.append(_note(e, t.TRANSITION_DUE, aud, "Encounter", enc.fhir_id,
                         {**facts, "event": {**facts["event"], "action": "withdrawn"}}))
    return enc, out


# ---------------------------------------------------------------------- gaps and tasks

GAP_TOPICS = {"gap.opened": t.GAP_OPENED, "gap.closed": t.GAP_CLOSED, "gap.excluded": t.GAP_EXCLUDED}


def on_gap(e: GapOpenedV1 | GapClosedV1 | GapExcludedV1, member: Member | None
           ) -> tuple[GapFacts, list[Notification]]:
    gap = GapFacts(
        gap_key=e.gap_key, member_id=e.member_id, measure_id=e.measure_id, measure_version=e.measure_version,
        status=e.status, reason=e.reason, period_start=e.period_start, period_end=e.period_end,
        practice_id=e.practice_id, contract_id=e.contract_id, due_date=e.due_date,
        evidence=tuple(_plain(x) for x in e.evidence), updated_at=e.occurred_at,
    )
    aud = audience(member, e.member_id, practice_id=e.practice_id, contract_id=e.contract_id)
    facts = {"gap": gap.as_dict(), "patient": patient_facts(member, e.member_id),
             "event": {"measure_id": e.measure_id, "status": e.status}}
    return gap, [_note(e, GAP_TOPICS[e.event_type], aud, "DetectedIssue", gap.fhir_id, facts)]


def on_task(e: TaskLifecycleV1, before: TaskFacts | None) -> TaskFacts | None:
    """The task's latest state; a late transition older than what is stored changes nothing."""
    if before is not None and before.updated_at is not None and e.occurred_at < before.updated_at:
        return None
    return TaskFacts(
        task_id=str(e.task_id), member_id=e.member_id, kind=e.kind, status=e.to_status, queue=e.queue,
        reason_key=e.reason_key, version=(before.version + 1) if before else 1,
        due_date=e.due_date if e.due_date is not None else (before.due_date if before else None),
        practice_id=e.practice_id or (before.practice_id if before else None),
        contract_id=e.contract_id or (before.contract_id if before else None),
        assignee=e.assignee, updated_at=e.occurred_at,
        overdue_notified_for=before.overdue_notified_for if before else None,
    )


# ---------------------------------------------------------------------- ADT (merge, HL7 feed)

def on_adt(e: AdtEventV1, member: Member | None) -> list[Notification]:
    """``adt-feed`` (the raw message, for HL7 v2 forward) and, for A40, ``patient-merge`` — for
    a member the MRN crosswalk knows who is attributed on the day of the event."""
    if member is None or not member.attributed_on(e.occurred_at.date()):
        return []
    aud = audience(member, member.member_id, facility=e.sending_facility)
    out = []
    base = {"trigger": e.trigger, "facility": e.sending_facility, "patient_class": e.patient_class,
            "message_control_id": e.message_control_id}
    if e.raw:
        enc_key = f"{e.sending_facility}|{e.visit_number}" if e.visit_number else None
        out.append(_note(e, t.ADT_FEED, aud, "Encounter" if enc_key else "Patient",
                         _encounter_or_patient(enc_key, member.member_id), {"event": base}, hl7=e.raw))
    if e.trigger == "A40":
        facts = {"patient": patient_facts(member, member.member_id),
                 "event": {**base, "surviving": e.patient_key,
                           "merged": [p.key() for p in e.prior_patient_ids]}}
        out.append(_note(e, t.PATIENT_MERGE, aud, "Patient", patient_id(member.member_id), facts))
    return out


def _encounter_or_patient(enc_key: str | None, member_id: str) -> str:
    from .model import encounter_id

    return encounter_id(enc_key) if enc_key else patient_id(member_id)
