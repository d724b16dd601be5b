"""Care transitions → TCM tasks (cancel, readmission bump) and diagnoses → referral tasks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from shared.events import CareTransitionCancelledV1, CareTransitionV1, ClaimV1, Event, Evidence, ReadmissionV1

from .creation import DecisionContext, can_create, create, on_roster, system_time
from .intents import CancelTask, Intent, Reprioritize
from .members import MemberState, diagnosis_codes, known_at, known_on, local_day, resolve_pod
from .model import Task, task_key
from .referrals import (
    match_referrals, recently_referred, referral_evidence, referral_key, referral_reason, source_label,
)
from .workflow import system_cancel

CLASS_LABELS = {"I": "inpatient", "O": "outpatient", "E": "emergency", "B": "obstetrics"}


def tcm_key(member_id: str, transition_id: object) -> str:
    return task_key(member_id, "tcm", str(transition_id))


def _tcm_reason(event: CareTransitionV1, discharged: date, contact_due: date) -> str:
    where = event.facility
    if event.patient_class:
        where += f", {CLASS_LABELS.get(event.patient_class, 'class ' + event.patient_class)}"
    parts = [f"Discharged {discharged.isoformat()} ({where})"]
    if event.length_of_stay_days is not None:
        parts.append(f"{event.length_of_stay_days}-day stay")
    parts.append(f"interactive contact due {contact_due.isoformat()}")
    if event.visit_due_high:
        parts.append(f"visit due {event.visit_due_high.isoformat()} if high complexity (99496)")
    if event.visit_due_moderate:
        parts.append(f"{event.visit_due_moderate.isoformat()} if moderate (99495)")
    if event.readmission:
        parts.append("this stay was a readmission within 30 days")
    return "; ".join(parts)[:500]


def on_care_transition(event: CareTransitionV1, state: MemberState, ctx: DecisionContext) -> list[Intent]:
    if state.already_applied(event.event_id):
        return []
    intents: list[Intent] = []
    tcm = _tcm_task(event, state, ctx)
    if tcm is not None:
        intents.append(create(tcm, event))
    discharged = local_day(event.discharge_time, ctx.tz)
    intents += _referrals(event, state, ctx, practice_id=event.pcp_practice_id, contract_id=event.contract_id,
                          pod=event.pod, source=source_label("discharge", event.facility, discharged),
                          evidence_day=discharged, claim_id=None)
    return intents


def _tcm_task(event: CareTransitionV1, state: MemberState, ctx: DecisionContext) -> Task | None:
    rule = ctx.rules.tcm
    if not event.tcm_applicable or (event.discharge_disposition or "") in rule.skip_dispositions:
        return None
    key = tcm_key(event.member_id, event.transition_id)
    task_id = can_create(state, key, event.event_id)
    if task_id is None or not on_roster(state, known_on(event, ctx.tz)):
        return None
    discharged = local_day(event.discharge_time, ctx.tz)
    due = event.contact_due or ctx.calendar.add_business_days(discharged, rule.contact_business_days)
    readmitted_on = None
    if event.readmission:
        readmitted_on = local_day(event.admit_time, ctx.tz) if event.admit_time else discharged
    pod_hint = event.pod or (state.profile.pod if state.profile else None)
    return Task(
        task_id=task_id, key=key, member_id=event.member_id, kind="tcm", reason_key=str(event.transition_id),
        role=rule.role, pod=resolve_pod(pod_hint, event.pcp_practice_id, ctx.rules),
        practice_id=event.pcp_practice_id, contract_id=event.contract_id, title=rule.title,
        reason=_tcm_reason(event, discharged, due), created_at=known_at(event), updated_at=known_at(event),
        cause_event_id=event.event_id, due_date=due,
        evidence=tuple(Evidence(code=d.code, code_system="ICD10CM", date=discharged, description=d.description)
                       for d in event.diagnoses),
        source_ref=event.encounter_key, anchor_date=discharged, visit_due_high=event.visit_due_high,
        visit_due_moderate=event.visit_due_moderate, readmitted_on=readmitted_on,
        readmission_ref=f"transition:{event.transition_id}" if event.readmission else None,
    )


def on_transition_cancelled(event: CareTransitionCancelledV1, state: MemberState,
                            ctx: DecisionContext) -> list[Intent]:
    task = state.open_task(tcm_key(event.member_id, event.transition_id))
    if task is None or state.already_applied(event.event_id):
        return []
    change = system_cancel(task, at=system_time(event, task), reason=f"discharge cancelled: {event.reason}"[:200],
                           cause_event_id=event.event_id)
    return [CancelTask(change.task, change.transition, task.version)]


def on_readmission(event: ReadmissionV1, state: MemberState, ctx: DecisionContext) -> list[Intent]:
    """Raise the member's open TCM tasks; a retracted readmission lowers them back."""
    if state.already_applied(event.event_id):
        return []
    ref = f"readmission:{event.readmission_id}"
    intents: list[Intent] = []
    for task in state.tasks:
        if task.kind != "tcm" or not task.is_open:
            continue
        if event.retracted:
            if task.readmission_ref != ref:
                continue
            after = replace(task, readmitted_on=None, readmission_ref=None).with_event(event.event_id)
            intents.append(Reprioritize(after, task.version, "readmission retracted"))
        elif task.readmission_ref != ref:
            after = replace(task, readmitted_on=event.admit_date, readmission_ref=ref).with_event(event.event_id)
            intents.append(Reprioritize(after, task.version,
                                        f"readmitted {event.admit_date.isoformat()}, "
                                        f"{event.days_since_discharge} days after discharge"))
    return intents


def on_claim(event: ClaimV1, state: MemberState, ctx: DecisionContext) -> list[Intent]:
    if event.frequency_code == "8" or state.already_applied(event.event_id):
        return []
    served = event.statement_from or min((line.service_date for line in event.lines), default=None)
    day = served or known_on(event, ctx.tz)
    profile = state.profile
    return _referrals(event, state, ctx, practice_id=profile.practice_id if profile else None,
                      contract_id=profile.contract_id if profile else None, pod=None,
                      source=source_label("claim", event.claim_id, day), evidence_day=day, claim_id=event.claim_id)


def _referrals(event: Event, state: MemberState, ctx: DecisionContext, *, practice_id: str | None,
               contract_id: str | None, pod: str | None, source: str, evidence_day: date,
               claim_id: str | None) -> list[Intent]:
    codes = diagnosis_codes(event)
    day = known_on(event, ctx.tz)
    if not codes or not on_roster(state, day):
        return []
    member_id = event.member_id or ""
    pod_hint = pod or (state.profile.pod if state.profile else None)
    intents: list[Intent] = []
    for match in match_referrals(codes, state.known_diagnoses, ctx.rules):
        rule = match.rule
        key = referral_key(member_id, rule)
        task_id = can_create(state, key, event.event_id)
        if task_id is None or recently_referred(state.tasks, key, day, rule, ctx.tz):
            continue
        task = Task(
            task_id=task_id, key=key, member_id=member_id, kind=rule.kind, reason_key=rule.id, role=rule.role,
            pod=resolve_pod(pod_hint, practice_id, ctx.rules), practice_id=practice_id, contract_id=contract_id,
            title=rule.title, reason=referral_reason(match, source), created_at=known_at(event),
            updated_at=known_at(event), cause_event_id=event.event_id,
            due_date=ctx.calendar.add_business_days(day, rule.sla_business_days),
            evidence=referral_evidence(match, evidence_day, claim_id), source_ref=claim_id,
        )
        intents.append(create(task, event))
    return intents
