"""Moving a patient's ADT history between records.

- A40 merge: the prior patient's (MRG-1) facts move into the surviving record. The prior
  record's alerts are retracted ("A40 merge"), its transitions cancelled and readmissions
  retracted; the survivor publishes what is now due there. The handler calls
  ``merge_patient`` for each key in ``Outcome.merge_from`` whose record is another one.
- Adoption: an unmatched patient's facts (``PatientState.for_patient``) move into a member's
  record when a roster entry lists that identifier (``adopt_unmatched``).

Both are idempotent: facts that already moved are no longer in the source, and the target
knows them as applied.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from shared.events import AdtEventV2, MemberRosterV1

from .patient_state import PatientState
from .reconcile import Cause, Env, Outcome, run_pass


def move_records(
    source: PatientState, target: PatientState, *, keys: Collection[str] | None, cause: Cause,
    source_roster: MemberRosterV1 | None, target_roster: MemberRosterV1 | None, now: datetime, env: Env = Env(),
) -> tuple[Outcome, Outcome]:
    """Move the ADT facts of the patient identifiers ``keys`` (all when None) from ``source``
    to ``target`` and reconcile both: A40 merges (cause = the A40) and the adoption of an
    unmatched patient's history when a roster entry matches it (cause = the roster event)."""
    src, dst = source.copy(), target.copy()
    if source.owner != target.owner:
        for fid, fact in source.facts.items():
            if keys is None or any(p.key() in keys for p in fact.patient_ids):
                del src.facts[fid]
                dst.facts[fid] = fact
                dst.applied.add(fid)
    return run_pass(src, source_roster, env, cause, now), run_pass(dst, target_roster, env, cause, now)


def merge_patient(
    prior: PatientState, survivor: PatientState, a40: AdtEventV2, *, prior_roster: MemberRosterV1 | None,
    survivor_roster: MemberRosterV1 | None, now: datetime, env: Env = Env(),
) -> tuple[Outcome, Outcome]:
    """A40: move the facts of the MRG-1 identifiers from ``prior`` into ``survivor``."""
    keys = {p.key() for p in a40.prior_patient_ids}
    return move_records(prior, survivor, keys=keys, cause=Cause(a40.event_id, "A40", a40.occurred_at),
                        source_roster=prior_roster, target_roster=survivor_roster, now=now, env=env)


def adopt_unmatched(
    unmatched: PatientState, member: PatientState, roster: MemberRosterV1, *, now: datetime, env: Env = Env(),
) -> tuple[Outcome, Outcome]:
    """A roster entry matched an unmatched patient: its whole history joins the member's."""
    return move_records(unmatched, member, keys=None, cause=Cause(roster.event_id, "roster", now),
                        source_roster=None, target_roster=roster, now=now, env=env)
