"""Use cases for the facts the risk service consumes: each records one event into the batch.

``routes.py`` maps every (topic, event type) to one of these, called as ``use_case(event, batch)``;
the batch (``batch.py``) then stores what it gathered and re-scores the members it touched.
"""

from __future__ import annotations

from datetime import timezone

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionV1, ClaimV1, Event,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, ReadmissionV1,
)

from ..domain.claims import facts_of
from ..domain.members import AdtEncounter, Member, Readmission
from ..domain.scoring import ELIGIBLE_CODES
from .batch import ScoringBatch, newer_snapshot
from .ports import GapStatus


def roster_snapshot(e: MemberRosterV1, batch: ScoringBatch) -> None:
    m = Member.from_roster(e)
    members = batch.facts.members
    cur = members.get(m.member_id)
    if cur is None or newer_snapshot(m, cur):
        members[m.member_id] = m
    batch.touch(m.member_id)


def claim_version(e: ClaimV1, batch: ScoringBatch) -> None:
    """A claim version (v1 read as the upcaster lifts it: no version stamps), kept whatever it is:
    which versions count is decided when the member is assessed (``domain.claims.current_versions``)."""
    batch.facts.claims.append(facts_of(e, ELIGIBLE_CODES))
    batch.touch(e.member_id)


def _primary(diagnoses) -> str | None:
    return diagnoses[0].code.replace(".", "").upper() if diagnoses else None


def alert_raised(e: AlertRaisedV1, batch: ScoringBatch) -> None:
    kind = "ed" if e.kind == "ed_visit" else "inpatient"
    batch.facts.encounters.append((AdtEncounter(e.member_id, e.encounter_key, kind,
                                                e.event_time.astimezone(timezone.utc), e.event_time.date(),
                                                _primary(e.diagnoses)), str(e.alert_id)))
    batch.touch(e.member_id)


def alert_updated(e: AlertUpdatedV1, batch: ScoringBatch) -> None:
    """A08/A02: only the diagnoses matter here; the encounter is found through its alert."""
    if e.diagnoses:
        batch.facts.encounters.append((AdtEncounter(e.member_id, "", "", e.occurred_at, e.occurred_at.date(),
                                                    _primary(e.diagnoses)), str(e.alert_id)))
        batch.touch(e.member_id)
    else:
        batch.ignored += 1


def alert_retracted(e: AlertRetractedV1, batch: ScoringBatch) -> None:
    batch.facts.retracted_alerts.append((e.member_id, str(e.alert_id)))
    batch.touch(e.member_id)


def discharge(e: CareTransitionV1, batch: ScoringBatch) -> None:
    """An ED or inpatient discharge: the visit/stay even when no alert came (discharge seen first)."""
    cls = (e.patient_class or "").upper()
    kind = "ed" if cls == "E" else "inpatient" if cls == "I" else None
    if kind is None:
        batch.ignored += 1
        return
    start = e.admit_time or e.discharge_time
    batch.facts.encounters.append((AdtEncounter(e.member_id, e.encounter_key, kind, start.astimezone(timezone.utc),
                                                start.date(), _primary(e.diagnoses)), None))
    batch.touch(e.member_id)


def readmission(e: ReadmissionV1, batch: ScoringBatch) -> None:
    batch.facts.readmissions.append(Readmission(e.member_id, str(e.readmission_id), e.admit_date, e.retracted))
    batch.touch(e.member_id)


def gap_status(e: GapOpenedV1 | GapClosedV1 | GapExcludedV1, batch: ScoringBatch) -> None:
    batch.facts.gaps.append(GapStatus(e.member_id, e.gap_key, e.status, e.occurred_at))
    batch.touch(e.member_id)


def ignore(e: Event, batch: ScoringBatch) -> None:
    """Consumed on purpose and not needed (e.g. a cancelled discharge: the visit still happened)."""
    batch.ignored += 1


__all__ = ["alert_raised", "alert_retracted", "alert_updated", "claim_version", "discharge",
           "gap_status", "ignore", "readmission", "roster_snapshot"]
