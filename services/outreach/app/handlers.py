"""One use case per consumed event type (``routes.py`` maps each (topic, event type) here).

Each takes the event and the batch's working set (``batch.TaskBatch``): it records the member
facts the event carries that new tasks' priority must already see (gaps, encounters), asks the
domain for the intents, has the batch carry them out, then records what the event teaches for
later events (roster snapshot, diagnoses — "known before this event" for the referral rules).
"""

from __future__ import annotations

from shared.errors import InvalidEvent
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1,
    PortalMessageSentV1, ReadmissionV1, RiskTierChangedV1,
)

from ..domain import diagnosis_codes, profile_from_roster
from ..domain.care_tasks import on_care_transition, on_claim, on_readmission, on_transition_cancelled
from ..domain.decisions import on_roster_update
from ..domain.gap_tasks import on_gap_closed, on_gap_excluded, on_gap_opened
from ..domain.portal_messages import on_portal_message
from .batch import Member, TaskBatch

MAX_GAP_KEY = 400  # stored in a primary key; a longer one can never be stored: dead-letter it


# ---------------------------------------------------------------------- gaps.events
def gap_opened(event: GapOpenedV1, batch: TaskBatch) -> None:
    member = _gap_fact(event, batch)
    batch.apply(member, on_gap_opened(event, member.state(), batch.ctx))


def gap_closed(event: GapClosedV1, batch: TaskBatch) -> None:
    member = _gap_fact(event, batch)
    batch.apply(member, on_gap_closed(event, member.state(), batch.ctx))


def gap_excluded(event: GapExcludedV1, batch: TaskBatch) -> None:
    member = _gap_fact(event, batch)
    batch.apply(member, on_gap_excluded(event, member.state(), batch.ctx))


def _gap_fact(event: GapOpenedV1 | GapClosedV1 | GapExcludedV1, batch: TaskBatch) -> Member:
    """The gap's latest status (the member's open gaps feed the priority); older news is ignored."""
    member = batch.member(event)
    if len(event.gap_key) > MAX_GAP_KEY:
        raise InvalidEvent(f"gap_key is longer than {MAX_GAP_KEY} characters", field="gap_key")
    current = member.facts.gaps.get(event.gap_key)
    if current is not None and (current["occurred_at"], current["recorded_at"]) > (event.occurred_at,
                                                                                  event.recorded_at):
        return member
    batch.record_gap(member, {
        "member_id": event.member_id, "gap_key": event.gap_key, "measure_id": event.measure_id,
        "measure_version": event.measure_version, "status": event.status, "reason": event.reason,
        "due_date": event.due_date, "evidence": [e.model_dump(mode="json") for e in event.evidence],
        "occurred_at": event.occurred_at, "recorded_at": event.recorded_at, "event_id": str(event.event_id),
    })
    return member


# ---------------------------------------------------------------------- care.transitions
def care_transition(event: CareTransitionV1, batch: TaskBatch) -> None:
    member = batch.member(event)
    batch.record_encounter(member, {
        "encounter_id": str(event.transition_id), "member_id": event.member_id, "kind": "discharge",
        "facility": event.facility, "patient_class": event.patient_class, "admit_at": event.admit_time,
        "discharge_at": event.discharge_time, "admit_date": None,
        "disposition": event.discharge_disposition, "length_of_stay_days": event.length_of_stay_days,
        "diagnoses": [d.model_dump(mode="json") for d in event.diagnoses], "readmission": event.readmission,
        "status": "active", "event_id": str(event.event_id), "occurred_at": event.occurred_at,
    })
    batch.apply(member, on_care_transition(event, member.state(), batch.ctx))
    batch.record_diagnoses(member, diagnosis_codes(event))


def transition_cancelled(event: CareTransitionCancelledV1, batch: TaskBatch) -> None:
    member = batch.member(event)
    row = member.facts.encounters.get(str(event.transition_id))
    if row is not None:
        batch.record_encounter(member, {**row, "status": "cancelled"})
    batch.apply(member, on_transition_cancelled(event, member.state(), batch.ctx))


def readmission(event: ReadmissionV1, batch: TaskBatch) -> None:
    member = batch.member(event)
    batch.record_encounter(member, {
        "encounter_id": str(event.readmission_id), "member_id": event.member_id, "kind": "readmission",
        "facility": None, "patient_class": "I", "admit_at": None, "discharge_at": None,
        "admit_date": event.admit_date, "disposition": None, "length_of_stay_days": None,
        "diagnoses": [], "readmission": True, "status": "retracted" if event.retracted else "active",
        "event_id": str(event.event_id), "occurred_at": event.occurred_at,
    })
    batch.apply(member, on_readmission(event, member.state(), batch.ctx))


# ---------------------------------------------------------------------- claims.events
def claim(event: ClaimV1, batch: TaskBatch) -> None:
    """Social-needs and obesity diagnoses on a claim → referral tasks."""
    member = batch.member(event)
    batch.apply(member, on_claim(event, member.state(), batch.ctx))
    batch.record_diagnoses(member, diagnosis_codes(event))


# ---------------------------------------------------------------------- members.roster
def roster_snapshot(event: MemberRosterV1, batch: TaskBatch) -> None:
    """A termed or no longer eligible member's open tasks are cancelled; unclaimed tasks follow a
    member to a new pod. A snapshot older than the stored one changes nothing."""
    member = batch.member(event)
    stamp = (event.occurred_at, event.recorded_at)
    if member.facts.roster_stamp is not None and stamp < member.facts.roster_stamp:
        return
    batch.apply(member, on_roster_update(event, member.state(), batch.ctx))
    batch.record_profile(member, profile_from_roster(event), stamp, {
        "member_id": event.member_id, "practice_id": event.pcp_practice_id, "contract_id": event.contract_id,
        "pod": event.pod, "risk_tier": event.risk_tier, "status": event.status,
        "eligibility": [[s.start.isoformat(), s.end.isoformat() if s.end else None] for s in event.eligibility],
        "given_name": event.given_name, "family_name": event.family_name, "birth_date": event.birth_date,
        "roster_event_id": str(event.event_id), "roster_occurred_at": event.occurred_at,
        "roster_recorded_at": event.recorded_at,
    })


# ---------------------------------------------------------------------- portal.messages
def portal_message(event: PortalMessageSentV1, batch: TaskBatch) -> None:
    """A member's message from the patient portal → a ``message`` task, due in two business days,
    in the pod's queue its topic calls for (``domain/portal_messages.py``)."""
    member = batch.member(event)
    batch.apply(member, on_portal_message(event, member.state(), batch.ctx))


# ---------------------------------------------------------------------- risk.tiers
def risk_tier_changed(event: RiskTierChangedV1, batch: TaskBatch) -> None:
    """The member's computed tier history from the risk service: the latest decision (by decision
    day, then event time) is kept, an older one arriving late is ignored. The priority's risk line
    reads the tier in force on the queue's day; the member's open tasks are re-scored at the end of
    the batch."""
    member = batch.member(event)
    stamp = (event.decided_on.isoformat(), event.occurred_at)
    if member.facts.risk_stamp is not None and stamp < member.facts.risk_stamp:
        return
    history = tuple((s.start, s.tier) for s in event.history)
    batch.record_risk_tiers(member, history, stamp, {
        "member_id": event.member_id, "decided_on": stamp[0], "occurred_at": event.occurred_at,
        "history": [[s.start.isoformat(), s.tier] for s in event.history]}, risk_changed_record(event))


def risk_changed_record(event: RiskTierChangedV1) -> dict:
    """What drove a tier change, as the task page shows it when the risk API does not answer."""
    return {"old_tier": event.old_tier, "new_tier": event.new_tier, "effective_date": event.effective_date.isoformat(),
            "decided_on": event.decided_on.isoformat(), "model": event.model, "payment_year": event.payment_year,
            "risk_score": event.risk_score, "payment_score": event.payment_score,
            "hccs": [{"hcc": h.hcc, "label": h.label, "coefficient": h.coefficient, "diagnoses": list(h.diagnoses),
                      "claim_ids": list(h.claim_ids)} for h in event.hccs],
            "utilization": event.utilization.model_dump(), "reasons": list(event.reasons), "rule": event.rule}
