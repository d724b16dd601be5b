"""One use case per consumed event type (``routes.py`` maps each (topic, event type) here).

Each takes the event and the batch's working set (``batch.AdmissionsBatch``), applies it to the
record it belongs to with the pure domain (``apply_adt``, ``apply_roster``, ``adopt_unmatched``,
``merge_patient``) and hands the outcome to the batch, which writes it at the end.
"""

from __future__ import annotations

from shared.events import AdtEventV2, MemberRosterV1

from ..domain.merges import adopt_unmatched, merge_patient
from ..domain.patient_state import PatientState
from ..domain.reconcile import apply_adt, apply_roster
from .batch import AdmissionsBatch, unmatched_owner
from .full_parse import full_parse_agrees


# ---------------------------------------------------------------------- adt.events
def adt_message(event: AdtEventV2, batch: AdmissionsBatch) -> None:
    """An admission, transfer, discharge, cancel, update or merge: the member's (or the unmatched
    patient's) record, then its alerts, transition and readmission as they now should be; an A40
    moves the merged identifier's record into the survivor's."""
    if batch.full_parse_tz is not None and not full_parse_agrees(event, batch.full_parse_tz):
        batch.full_parse_mismatches += 1
    owner, member = batch.owner_for(event)
    state = batch.state_of(owner) or (PatientState.for_member(member) if member else PatientState(owner=owner))
    roster = batch.roster_of(member)
    out = apply_adt(state, event, roster=roster, now=batch.now, env=batch.env)
    if out.duplicate:
        batch.duplicates += 1
        return
    batch.put(out)
    batch.time_alerts(event, out.events)
    for key in out.merge_from:
        batch.merge_key(key, owner)
        prior_owner = batch.owner_of_key(key)
        if prior_owner == owner:
            continue
        prior = batch.state_of(prior_owner)
        if prior is None or not prior.facts:
            continue
        src, dst = merge_patient(prior, batch.states[owner], event, prior_roster=batch.roster_of(prior.member_id),
                                 survivor_roster=roster, now=batch.now, env=batch.env)
        batch.put(src)
        batch.put(dst)


# ---------------------------------------------------------------------- members.roster
def roster_member(event: MemberRosterV1, batch: AdmissionsBatch) -> None:
    """A member's roster snapshot: the crosswalk follows its MRNs, the member's alerts and
    transitions take its care team, and the records of patients it now identifies are adopted."""
    member = event.member_id
    batch.list_roster(event)
    state = batch.state_of(member) or PatientState.for_member(member)
    out = apply_roster(state, event, now=batch.now, env=batch.env)
    if out.duplicate:
        batch.duplicates += 1
        return
    batch.put(out)
    for x in event.mrns:
        source = batch.state_of(unmatched_owner(f"{x.assigning_authority}|{x.mrn}"))
        if source is None or not source.facts:
            continue
        src, dst = adopt_unmatched(source, batch.states[member], event, now=batch.now, env=batch.env)
        batch.put(src)
        batch.put(dst)
