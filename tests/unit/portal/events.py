"""Events for the portal's tests (unique ids, times given or near a fixed instant)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from shared.events import (
    AlertRaisedV1, AlertRetractedV1, CareTeamReplyV1, CareTransitionCancelledV1, CareTransitionV1, EligibilitySpan,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, TaskLifecycleV1,
)

UTC = timezone.utc
T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def _env(cls, member_id, at, event_id=None):
    at = at or T0
    return cls.envelope(occurred_at=at, recorded_at=at, source="test", member_id=member_id,
                        event_id=event_id or uuid.uuid4())


def roster(member_id, *, at=None, given="Ada", practice="P001", npi="1234567893", pod="pod-east",
           status="active") -> MemberRosterV1:
    return MemberRosterV1(**_env(MemberRosterV1, member_id, at), given_name=given, family_name="Example",
                          birth_date=date(1958, 3, 14), sex="F", pcp_practice_id=practice, pcp_npi=npi, pod=pod,
                          contract_id="MMO-2026", risk_tier="high", status=status,
                          eligibility=(EligibilitySpan(start=date(2025, 1, 1)),))


def _gap(member_id, measure):
    return dict(gap_key=f"{member_id}|{measure}|2026", measure_id=measure, measure_version="v14",
                period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), practice_id="P001",
                contract_id="MMO-2026")


def gap_opened(member_id, measure="CMS125", *, at=None, due=None, reason="no mammogram on file since 2024-10-01"):
    return GapOpenedV1(**_env(GapOpenedV1, member_id, at), **_gap(member_id, measure), reason=reason, due_date=due)


def gap_closed(member_id, measure="CMS125", *, at=None):
    return GapClosedV1(**_env(GapClosedV1, member_id, at), **_gap(member_id, measure), reason="mammogram on file",
                       lapses_on=date(2028, 12, 31))


def gap_excluded(member_id, measure="CMS125", *, at=None):
    return GapExcludedV1(**_env(GapExcludedV1, member_id, at), **_gap(member_id, measure), reason="excluded",
                         status="excluded")


def alert(member_id, *, at=None, kind="inpatient_admit", key="MERCY|V1", alert_id=None):
    at = at or T0
    return AlertRaisedV1(**_env(AlertRaisedV1, member_id, at), alert_id=alert_id or uuid.uuid4(), kind=kind,
                         encounter_key=key, facility="MERCY", patient_class="E" if kind == "ed_visit" else "I",
                         trigger="A04" if kind == "ed_visit" else "A01", event_time=at, pcp_practice_id="P001",
                         contract_id="MMO-2026")


def retraction(member_id, alert_id, *, at=None):
    return AlertRetractedV1(**_env(AlertRetractedV1, member_id, at), alert_id=alert_id, reason="A11 cancel admit")


def discharge(member_id, *, at=None, key="MERCY|V1", admitted=None, transition_id=None):
    at = at or T0
    return CareTransitionV1(**_env(CareTransitionV1, member_id, at), transition_id=transition_id or uuid.uuid4(),
                            encounter_key=key, facility="MERCY", patient_class="I",
                            admit_time=admitted or at - timedelta(days=3), discharge_time=at,
                            pcp_practice_id="P001", contract_id="MMO-2026")


def discharge_cancelled(member_id, transition_id, *, at=None):
    return CareTransitionCancelledV1(**_env(CareTransitionCancelledV1, member_id, at), transition_id=transition_id,
                                     reason="A13 cancel discharge")


def task(member_id, *, task_id=None, at=None, kind="tcm", status="open", due=None, appointment=None,
         assignee="nurse.east1", reason_key="x", role="quality_nurse"):
    return TaskLifecycleV1(**_env(TaskLifecycleV1, member_id, at), task_id=task_id or uuid.uuid4(), kind=kind,
                           reason_key=reason_key, queue=f"{role}:pod-east", role=role, to_status=status,
                           actor="system", assignee=assignee, due_date=due, appointment_date=appointment)


def reply(member_id, message_id, *, at=None, body="We booked you for Thursday."):
    return CareTeamReplyV1(**_env(CareTeamReplyV1, member_id, at), reply_id=uuid.uuid4(), message_id=message_id,
                           body=body, author_name="Nurse East 1", author_role="quality_nurse")
