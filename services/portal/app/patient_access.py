"""Use case: the FHIR patient-access read (``Patient/$everything``) of the signed-in member.

The member may read only their own record: another patient id answers as not found. The read
is audited like a page read; the FHIR shape is built by the entry point (``web/fhir.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.access import Principal, require_own
from ..domain.model import CareTask, Encounter, Gap, Member
from .ports import Directory, UnitOfWork
from .reads import CareTeam, audit_read, care_team, signed_in_member


@dataclass(frozen=True)
class PatientRecord:
    member: Member
    team: CareTeam
    encounters: list[Encounter]
    gaps: list[Gap]
    tasks: list[CareTask]


def patient_record(uow: UnitOfWork, directory: Directory, principal: Principal, patient_id: str, endpoint: str,
                   what: str = "everything") -> PatientRecord:
    require_own(principal, patient_id, "patient")
    with uow:
        record = _record(uow, directory, principal)
        audit_read(uow, principal, endpoint, f"fhir {what} encounters={len(record.encounters)} "
                                             f"gaps={len(record.gaps)} tasks={len(record.tasks)}")
        uow.commit()
    return record


def _record(uow: UnitOfWork, directory: Directory, principal: Principal) -> PatientRecord:
    member = signed_in_member(uow, principal)
    tasks = [t for t in uow.tasks.of_member(member.member_id)]
    record = PatientRecord(
        member, care_team(uow, directory, member, tasks),
        sorted((e for e in uow.encounters.of_member(member.member_id) if e.status != "cancelled"),
               key=lambda e: e.encounter_key),
        sorted(uow.gaps.of_member(member.member_id), key=lambda g: g.gap_key),
        sorted(tasks, key=lambda t: str(t.task_id)))
    return record
