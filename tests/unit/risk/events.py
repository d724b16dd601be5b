"""Event builders for the risk tests (unit and integration): unique ids unless given."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, CareTransitionV1, ClaimLine, ClaimV1, ClaimV2, Diagnosis, EligibilitySpan, GapClosedV1,
    GapOpenedV1, MemberRosterV1, ReadmissionV1,
)

UTC = timezone.utc
CHI = ZoneInfo("America/Chicago")


def member(prefix: str = "R") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _env(cls, member_id: str, at: datetime | None) -> dict:
    at = at or datetime.now(UTC)
    return cls.envelope(occurred_at=at, recorded_at=at, source="test", member_id=member_id, event_id=uuid.uuid4())


def roster(member_id: str, *, born: date = date(1954, 3, 14), sex: str = "F", practice: str = "P001",
           contract: str = "MMO-2026", tier: str = "low", at: datetime | None = None,
           start: date = date(2025, 1, 1), end: date | None = None, status: str = "active") -> MemberRosterV1:
    return MemberRosterV1(**_env(MemberRosterV1, member_id, at), given_name="Ada", family_name="Example",
                          birth_date=born, sex=sex, pcp_practice_id=practice, pod="pod-east", contract_id=contract,
                          risk_tier=tier, status=status, eligibility=(EligibilitySpan(start=start, end=end),))


def office_claim(member_id: str, diagnoses: tuple[str, ...], day: date, *, claim_id: str | None = None,
                 frequency: str = "1", original: str | None = None, cpt: str = "99214",
                 at: datetime | None = None, adjudicated: date | None = None,
                 sequence: int | None = None) -> ClaimV1:
    """claim.submitted v1, or v2 when it says when the payer adjudicated it or the sender's version number."""
    cid = claim_id or f"CLM-{uuid.uuid4().hex[:8]}"
    cls = ClaimV2 if adjudicated or sequence is not None else ClaimV1
    stamps = {"adjudication_date": adjudicated, "version_sequence": sequence} if cls is ClaimV2 else {}
    return cls(**_env(cls, member_id, at or datetime.combine(day, datetime.min.time(), UTC)), claim_id=cid,
               frequency_code=frequency, original_claim_id=original, claim_type="professional",
               place_of_service="11", statement_from=day, statement_to=day, diagnoses=diagnoses,
               lines=(ClaimLine(line_number=1, procedure_code=cpt, service_date=day, diagnosis_pointers=(1,)),),
               **stamps)


def ed_claim(member_id: str, diagnoses: tuple[str, ...], day: date, *, claim_id: str | None = None) -> ClaimV1:
    cid = claim_id or f"EDC-{uuid.uuid4().hex[:8]}"
    return ClaimV1(**_env(ClaimV1, member_id, datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=9)),
                   claim_id=cid, claim_type="institutional", type_of_bill="131", statement_from=day,
                   statement_to=day, diagnoses=diagnoses,
                   lines=(ClaimLine(line_number=1, procedure_code="99284", revenue_code="0450", service_date=day),))


def ed_alert(member_id: str, arrival: datetime, dx: str = "R07.9", *, key: str | None = None,
             practice: str = "P001") -> AlertRaisedV1:
    return AlertRaisedV1(**_env(AlertRaisedV1, member_id, arrival), alert_id=uuid.uuid4(), kind="ed_visit",
                         encounter_key=key or f"MERCY|V{uuid.uuid4().hex[:6]}", facility="MERCY", patient_class="E",
                         trigger="A04", event_time=arrival, diagnoses=(Diagnosis(code=dx),), pcp_practice_id=practice,
                         contract_id="MMO-2026")


def retract(alert: AlertRaisedV1) -> AlertRetractedV1:
    return AlertRetractedV1(**_env(AlertRetractedV1, alert.member_id, alert.event_time + timedelta(hours=1)),
                            alert_id=alert.alert_id, reason="A11 cancel admit")


def inpatient_discharge(member_id: str, admit: datetime, days: int = 4) -> CareTransitionV1:
    return CareTransitionV1(
        **_env(CareTransitionV1, member_id, admit + timedelta(days=days)), transition_id=uuid.uuid4(),
        encounter_key=f"MERCY|V{uuid.uuid4().hex[:6]}", facility="MERCY", patient_class="I", admit_time=admit,
        discharge_time=admit + timedelta(days=days), length_of_stay_days=days,
        diagnoses=(Diagnosis(code="I50.9"),), pcp_practice_id="P001", contract_id="MMO-2026")


def readmission(member_id: str, admit: date) -> ReadmissionV1:
    return ReadmissionV1(**_env(ReadmissionV1, member_id, datetime.combine(admit, datetime.min.time(), UTC)),
                         readmission_id=uuid.uuid4(), index_encounter_key="MERCY|V1",
                         index_discharge_date=admit - timedelta(days=5), readmit_encounter_key="MERCY|V2",
                         admit_date=admit, days_since_discharge=5, pcp_practice_id="P001", contract_id="MMO-2026")


def gap(member_id: str, measure: str, status: str, at: datetime):
    common = dict(gap_key=f"{member_id}|{measure}|2026", measure_id=measure, measure_version="v13",
                  period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), reason="test", practice_id="P001",
                  contract_id="MMO-2026")
    cls = GapOpenedV1 if status == "open" else GapClosedV1
    return cls(**_env(cls, member_id, at), **common)
