"""FHIR reads from the service's projections: Encounter, Patient, DetectedIssue, Task, each with
the audience (practice, group, pod) its access check needs; ``audit_read`` writes the audit rows
of the members a read answered with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.audit import record_access
from shared.db import Database

from ..domain import fhir_resources as res
from ..domain.mapping import audience, patient_facts
from ..domain.model import FHIR_ID, Audience, EncounterFacts, Member, patient_id
from ..domain.overdue import is_overdue
from . import rows, tables as tb


class ProjectionReads:
    def __init__(self, db: Database) -> None:
        self.db = db

    def audit_read(self, *, user_id: str, role: str, member_ids, endpoint: str) -> None:
        """One ``audit_log`` row per member read (action ``read``), in its own transaction."""
        with self.db.transaction() as s:
            record_access(s, tb.audit_log, user_id=user_id, role=role, member_ids=member_ids, action="read",
                          endpoint=endpoint)

    def _member(self, s, member_id: str) -> Member | None:
        r = s.execute(select(tb.members).where(tb.members.c.member_id == member_id)).first()
        return rows.member_of(r) if r else None

    def _member_by_fhir(self, s, pid: str) -> Member | None:
        m = self._member(s, pid) if FHIR_ID.match(pid) else None
        if m is not None:
            return m
        # a member id that is not a valid FHIR id was published as uuid5 (rare): scan is bounded by the index
        return None

    def patient(self, pid: str) -> tuple[dict[str, Any], Audience] | None:
        with self.db.transaction() as s:
            m = self._member_by_fhir(s, pid)
        if m is None or patient_id(m.member_id) != pid:
            return None
        return res.patient(patient_facts(m, m.member_id)), audience(m, m.member_id)

    def encounter(self, eid: str) -> tuple[dict[str, Any], Audience] | None:
        with self.db.transaction() as s:
            r = s.execute(select(tb.encounters.c.body).where(tb.encounters.c.fhir_id == eid)).first()
            if r is None:
                return None
            enc = EncounterFacts.from_dict(r.body)
            m = self._member(s, enc.member_id)
        return res.encounter(enc.as_dict()), audience(m, enc.member_id, facility=enc.facility)

    def encounters_of(self, pid: str, limit: int = 100) -> tuple[list[dict[str, Any]], Audience] | None:
        with self.db.transaction() as s:
            m = self._member_by_fhir(s, pid)
            if m is None:
                return None
            found = s.execute(select(tb.encounters.c.body).where(tb.encounters.c.member_id == m.member_id)
                              .order_by(tb.encounters.c.start.desc()).limit(limit)).all()
        return [res.encounter(EncounterFacts.from_dict(r.body).as_dict()) for r in found], audience(m, m.member_id)

    def detected_issue(self, iid: str) -> tuple[dict[str, Any], Audience] | None:
        with self.db.transaction() as s:
            r = s.execute(select(tb.gaps.c.body).where(tb.gaps.c.fhir_id == iid)).first()
            if r is None:
                return None
            m = self._member(s, r.body["member_id"])
        return res.detected_issue(r.body), audience(m, r.body["member_id"], practice_id=r.body.get("practice_id"),
                                                    contract_id=r.body.get("contract_id"))

    def task(self, tid: str, today) -> tuple[dict[str, Any], Audience] | None:
        with self.db.transaction() as s:
            r = s.execute(select(tb.tasks).where(tb.tasks.c.task_id == tid)).first()
            if r is None:
                return None
            task = rows.task_of(r)
            m = self._member(s, task.member_id)
        return res.task(task.as_dict(), overdue=is_overdue(task, today)), audience(
            m, task.member_id, practice_id=task.practice_id, contract_id=task.contract_id)
