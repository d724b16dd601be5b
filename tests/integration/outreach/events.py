"""Events for the outreach integration tests: unique ids, times near now unless given."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from shared.events import (
    CareTransitionV1, ClaimLine, ClaimV1, Diagnosis, EligibilitySpan, Evidence, GapClosedV1, GapOpenedV1,
    MemberRosterV1, ReadmissionV1,
)

UTC = timezone.utc


def now() -> datetime:
    return datetime.now(UTC)


def member(prefix: str = "M") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _env(cls, member_id: str, at: datetime | None, event_id: uuid.UUID | None = None) -> dict:
    at = at or now()
    return cls.envelope(occurred_at=at, recorded_at=at, source="test", member_id=member_id,
                        event_id=event_id or uuid.uuid4())


def roster(member_id: str, *, pod: str | None = "pod-east", practice: str = "P001", risk: str = "high",
           status: str = "active", at: datetime | None = None, start: date = date(2025, 1, 1),
           end: date | None = None) -> MemberRosterV1:
    return MemberRosterV1(**_env(MemberRosterV1, member_id, at), given_name="Ada", family_name="Example",
                          birth_date=date(1958, 3, 14), sex="F", pcp_practice_id=practice, pod=pod,
                          contract_id="MMO-2026", risk_tier=risk, status=status,
                          eligibility=(EligibilitySpan(start=start, end=end),))


def _gap(member_id: str, measure: str) -> dict:
    return dict(gap_key=f"{member_id}|{measure}|2026", measure_id=measure, measure_version="v13",
                period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), practice_id="P001",
                contract_id="MMO-2026")


def gap_opened(member_id: str, measure: str = "CMS130", *, at: datetime | None = None,
               reason: str = "no colonoscopy on file; last FIT 2023-01-10 (expired 2023-12-31)",
               due: date | None = None) -> GapOpenedV1:
    return GapOpenedV1(**_env(GapOpenedV1, member_id, at), **_gap(member_id, measure), reason=reason, due_date=due)


def gap_closed(member_id: str, measure: str = "CMS130", *, at: datetime | None = None,
               claim_id: str = "CLM-0001") -> GapClosedV1:
    ev = Evidence(code="45378", code_system="CPT", date=date(2026, 4, 10), claim_id=claim_id)
    return GapClosedV1(**_env(GapClosedV1, member_id, at), **_gap(member_id, measure), reason="colonoscopy on file",
                       evidence=(ev,))


def discharge(member_id: str, *, at: datetime | None = None, contact_due: date | None = None,
              transition_id: uuid.UUID | None = None, readmission: bool = False,
              discharged: datetime | None = None) -> CareTransitionV1:
    at = at or now()
    discharged = discharged or at - timedelta(hours=2)
    return CareTransitionV1(
        **_env(CareTransitionV1, member_id, at), transition_id=transition_id or uuid.uuid4(),
        encounter_key=f"MERCY|V{uuid.uuid4().hex[:6]}", facility="MERCY", patient_class="I",
        admit_time=discharged - timedelta(days=4), discharge_time=discharged, discharge_disposition="01",
        length_of_stay_days=4, diagnoses=(Diagnosis(code="J18.9", system="I10", description="Pneumonia"),),
        contact_due=contact_due, readmission=readmission, pcp_practice_id="P001", pod="pod-east",
        contract_id="MMO-2026")


def readmission(member_id: str, *, admit: date | None = None, at: datetime | None = None) -> ReadmissionV1:
    admit = admit or now().date()
    return ReadmissionV1(**_env(ReadmissionV1, member_id, at), readmission_id=uuid.uuid4(),
                         index_encounter_key="MERCY|V1", index_discharge_date=admit - timedelta(days=3),
                         readmit_encounter_key="MERCY|V2", admit_date=admit, days_since_discharge=3,
                         pcp_practice_id="P001", contract_id="MMO-2026")


def claim(member_id: str, diagnoses: tuple[str, ...], *, at: datetime | None = None) -> ClaimV1:
    served = (at or now()).date()
    return ClaimV1(**_env(ClaimV1, member_id, at), claim_id=f"CLM-{uuid.uuid4().hex[:8]}", claim_type="professional",
                   diagnoses=diagnoses, statement_from=served,
                   lines=(ClaimLine(line_number=1, procedure_code="99214", service_date=served),))


def apply_events(db, ctx, staff, events, *, today=None) -> list:
    """Apply ``events`` as one batch with the worker's routes table, in this process (no Kafka,
    no dedupe): fast setup for tests and the benchmark. Returns the lifecycle events."""
    from services.outreach.adapters.unit_of_work import SqlUnitOfWork
    from services.outreach.app.batch import TaskBatch
    from services.outreach.routes import ROUTES

    handler = ROUTES.handler(SqlUnitOfWork.for_session, TaskBatch.starter(ctx, staff, today=today))
    with db.transaction() as session:
        return handler(session, list(events))
