"""Use cases for the facts the risk service consumes: each records one event into a ``Batch``.

``routes.py`` maps every (topic, event type) to one of these; the batch then stores what it
gathered and re-scores the members it touched (``rescore``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timezone

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, AlertUpdatedV1, CareTransitionV1, ClaimV1, Event,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, ReadmissionV1,
)

from ..domain.claims import ClaimFacts, facts_of
from ..domain.members import AdtEncounter, Member, Readmission
from ..domain.scoring import ELIGIBLE_CODES
from .ports import GapStatus, RiskRepository


@dataclass
class Batch:
    members: dict[str, Member] = field(default_factory=dict)
    claims: list[ClaimFacts] = field(default_factory=list)
    encounters: list[tuple[AdtEncounter, str | None]] = field(default_factory=list)
    retracted_alerts: list[tuple[str, str]] = field(default_factory=list)
    readmissions: list[Readmission] = field(default_factory=list)
    gaps: list[GapStatus] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    ignored: int = 0

    def store(self, repo: RiskRepository) -> None:
        if self.members:
            existing = repo.members(self.members)
            newer = [m for mid, m in self.members.items()
                     if mid not in existing or _newer(m, existing[mid])]
            repo.put_members(newer)
        repo.add_claims(self.claims)
        repo.put_encounters(self.encounters)
        repo.retract_alerts(self.retracted_alerts)
        repo.put_readmissions(self.readmissions)
        repo.put_gap_statuses(self.gaps)


def _newer(a: Member, b: Member) -> bool:
    return b.roster_at is None or (a.roster_at is not None and a.roster_at >= b.roster_at)


def roster_snapshot(batch: Batch, e: MemberRosterV1) -> None:
    m = Member.from_roster(e)
    cur = batch.members.get(m.member_id)
    if cur is None or _newer(m, cur):
        batch.members[m.member_id] = m
    batch.touched.add(m.member_id)


def claim_version(batch: Batch, e: ClaimV1) -> None:
    batch.claims.append(facts_of(e, ELIGIBLE_CODES))
    batch.touched.add(e.member_id)


def _primary(diagnoses) -> str | None:
    return diagnoses[0].code.replace(".", "").upper() if diagnoses else None


def alert_raised(batch: Batch, e: AlertRaisedV1) -> None:
    kind = "ed" if e.kind == "ed_visit" else "inpatient"
    batch.encounters.append((AdtEncounter(e.member_id, e.encounter_key, kind, e.event_time.astimezone(timezone.utc),
                                          e.event_time.date(), _primary(e.diagnoses)), str(e.alert_id)))
    batch.touched.add(e.member_id)


def alert_updated(batch: Batch, e: AlertUpdatedV1) -> None:
    """A08/A02: only the diagnoses matter here; the encounter is found through its alert."""
    if e.diagnoses:
        batch.encounters.append((AdtEncounter(e.member_id, "", "", e.occurred_at, e.occurred_at.date(),
                                              _primary(e.diagnoses)), str(e.alert_id)))
        batch.touched.add(e.member_id)
    else:
        batch.ignored += 1


def alert_retracted(batch: Batch, e: AlertRetractedV1) -> None:
    batch.retracted_alerts.append((e.member_id, str(e.alert_id)))
    batch.touched.add(e.member_id)


def discharge(batch: Batch, e: CareTransitionV1) -> None:
    """An ED or inpatient discharge: the visit/stay even when no alert came (discharge seen first)."""
    cls = (e.patient_class or "").upper()
    kind = "ed" if cls == "E" else "inpatient" if cls == "I" else None
    if kind is None:
        batch.ignored += 1
        return
    start = e.admit_time or e.discharge_time
    batch.encounters.append((AdtEncounter(e.member_id, e.encounter_key, kind, start.astimezone(timezone.utc),
                                          start.date(), _primary(e.diagnoses)), None))
    batch.touched.add(e.member_id)


def readmission(batch: Batch, e: ReadmissionV1) -> None:
    batch.readmissions.append(Readmission(e.member_id, str(e.readmission_id), e.admit_date, e.retracted))
    batch.touched.add(e.member_id)


def gap_status(batch: Batch, e: GapOpenedV1 | GapClosedV1 | GapExcludedV1) -> None:
    batch.gaps.append(GapStatus(e.member_id, e.gap_key, e.status, e.occurred_at))
    batch.touched.add(e.member_id)


def ignore(batch: Batch, e: Event) -> None:
    """Consumed on purpose and not needed (e.g. a cancelled discharge: the visit still happened)."""
    batch.ignored += 1


__all__ = ["Batch", "alert_raised", "alert_retracted", "alert_updated", "claim_version", "discharge",
           "gap_status", "ignore", "readmission", "roster_snapshot"]
