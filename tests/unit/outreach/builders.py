"""Event and task builders plus a tiny in-memory consumer, for the outreach unit tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from services.outreach import DEFAULT_RULES_PATH
from services.outreach.domain import (
    DecisionContext, MemberState, Task, apply_intents, decide, diagnosis_codes, parse_rules, profile_from_roster,
)
from services.outreach.domain.intents import Intent
from shared.calendar import BusinessCalendar
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimLine, ClaimV1, Diagnosis, EligibilitySpan, Event, Evidence,
    GapClosedV1, GapExcludedV1, GapOpenedV1, MemberRosterV1, ReadmissionV1,
)

UTC = timezone.utc
RULES = parse_rules(DEFAULT_RULES_PATH.read_text())
CALENDAR = BusinessCalendar()
CTX = DecisionContext(RULES, CALENDAR)
# Monday 2026-03-02, 09:00 in New York.
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
MEMBER = "M000001"


def eid(n: int | str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"test-event:{n}")


def _env(cls: type[Event], at: datetime, event_id: uuid.UUID | None, member: str, source: str) -> dict:
    return cls.envelope(occurred_at=at, recorded_at=at, source=source, member_id=member,
                        event_id=event_id or uuid.uuid4())


def _gap_fields(member: str, measure: str) -> dict:
    return dict(gap_key=f"{member}|{measure}|2026", measure_id=measure, measure_version="v13",
                period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), practice_id="P001",
                contract_id="MMO-2026")


def gap_opened(measure: str = "CMS130", *, member: str = MEMBER, at: datetime = T0, event_id=None,
               due: date | None = date(2026, 12, 31), reason: str = "no colonoscopy on file",
               evidence: tuple[Evidence, ...] = ()) -> GapOpenedV1:
    return GapOpenedV1(**_env(GapOpenedV1, at, event_id, member, "gaps"), **_gap_fields(member, measure),
                       reason=reason, evidence=evidence, due_date=due)


def gap_closed(measure: str = "CMS130", *, member: str = MEMBER, at: datetime = T0, event_id=None,
               evidence: tuple[Evidence, ...] | None = None, status: str = "closed") -> GapClosedV1:
    if evidence is None:
        evidence = (Evidence(code="45378", code_system="CPT", date=date(2026, 4, 10), claim_id="CLM-0001"),)
    return GapClosedV1(**_env(GapClosedV1, at, event_id, member, "gaps"), **_gap_fields(member, measure),
                       reason="colonoscopy on file", evidence=evidence, status=status)


def gap_excluded(measure: str = "CMS130", *, member: str = MEMBER, at: datetime = T0, event_id=None,
                 reason: str = "excluded: total colectomy 44150 on 2026-05-01") -> GapExcludedV1:
    return GapExcludedV1(**_env(GapExcludedV1, at, event_id, member, "gaps"), **_gap_fields(member, measure),
                         reason=reason)


def transition(*, member: str = MEMBER, at: datetime = T0, event_id=None, transition_id: uuid.UUID | None = None,
               disposition: str | None = "01", tcm_applicable: bool = True, readmission: bool = False,
               diagnoses: tuple[str, ...] = ("J18.9",), contact_due: date | None = date(2026, 3, 4),
               pod: str | None = "pod-east") -> CareTransitionV1:
    discharge = at - timedelta(hours=2)
    return CareTransitionV1(
        **_env(CareTransitionV1, at, event_id, member, "admissions"),
        transition_id=transition_id or eid("transition-1"), encounter_key="MERCY|V1", facility="MERCY",
        patient_class="I", admit_time=discharge - timedelta(days=4), discharge_time=discharge,
        discharge_disposition=disposition, length_of_stay_days=4,
        diagnoses=tuple(Diagnosis(code=c, system="I10") for c in diagnoses), tcm_applicable=tcm_applicable,
        contact_due=contact_due, visit_due_high=date(2026, 3, 9) if contact_due else None,
        visit_due_moderate=date(2026, 3, 16) if contact_due else None, readmission=readmission,
        pcp_practice_id="P001", pod=pod, contract_id="MMO-2026",
    )


def transition_cancelled(*, member: str = MEMBER, at: datetime = T0, event_id=None,
                         transition_id: uuid.UUID | None = None) -> CareTransitionCancelledV1:
    return CareTransitionCancelledV1(**_env(CareTransitionCancelledV1, at, event_id, member, "admissions"),
                                     transition_id=transition_id or eid("transition-1"),
                                     reason="A13 cancel discharge")


def readmission(*, member: str = MEMBER, at: datetime = T0, event_id=None, readmission_id=None,
                retracted: bool = False, admit_date: date = date(2026, 3, 3)) -> ReadmissionV1:
    return ReadmissionV1(**_env(ReadmissionV1, at, event_id, member, "admissions"),
                         readmission_id=readmission_id or eid("readmission-1"), index_encounter_key="MERCY|V1",
                         index_discharge_date=date(2026, 3, 2), readmit_encounter_key="MERCY|V2",
                         admit_date=admit_date, days_since_discharge=1, pcp_practice_id="P001",
                         contract_id="MMO-2026", retracted=retracted)


def claim(diagnoses: tuple[str, ...], *, member: str = MEMBER, at: datetime = T0, event_id=None,
          claim_id: str = "CLM-0100", frequency: str = "1", service_date: date = date(2026, 2, 20)) -> ClaimV1:
    return ClaimV1(**_env(ClaimV1, at, event_id, member, "claims"), claim_id=claim_id, frequency_code=frequency,
                   claim_type="professional", diagnoses=diagnoses,
                   lines=(ClaimLine(line_number=1, procedure_code="99214", service_date=service_date),))


def roster(*, member: str = MEMBER, at: datetime = T0, event_id=None, status: str = "active",
           pod: str | None = "pod-east", practice: str = "P001", risk_tier: str = "high",
           eligibility: tuple[tuple[date, date | None], ...] = ((date(2026, 1, 1), None),)) -> MemberRosterV1:
    return MemberRosterV1(**_env(MemberRosterV1, at, event_id, member, "roster"), given_name="Test",
                          family_name="Member", birth_date=date(1958, 3, 14), sex="F", pcp_practice_id=practice,
                          pod=pod, contract_id="MMO-2026", risk_tier=risk_tier,
                          eligibility=tuple(EligibilitySpan(start=s, end=e) for s, e in eligibility), status=status)


@dataclass
class Consumer:
    """What the wiring does per event, minus the database: decide, apply, learn."""

    member_id: str = MEMBER
    ctx: DecisionContext = CTX
    tasks: dict = field(default_factory=dict)
    roster_event: MemberRosterV1 | None = None
    known: frozenset = frozenset()
    log: list = field(default_factory=list)

    def state(self) -> MemberState:
        profile = profile_from_roster(self.roster_event) if self.roster_event else None
        return MemberState(self.member_id, tuple(self.tasks.values()), profile, self.known)

    def feed(self, event: Event, as_of: date | None = None) -> list[Intent]:
        intents = decide(event, self.state(), self.ctx, as_of=as_of)
        self.tasks = apply_intents(self.tasks, intents)
        self.known = self.known | diagnosis_codes(event)
        if isinstance(event, MemberRosterV1) and (
                self.roster_event is None or event.occurred_at >= self.roster_event.occurred_at):
            self.roster_event = event  # the latest snapshot is the truth
        self.log.extend(intents)
        return intents

    def feed_all(self, events) -> "Consumer":
        for event in events:
            self.feed(event)
        return self

    def open_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.is_open]

    def only(self, kind: str | None = None) -> Task:
        found = [t for t in self.tasks.values() if kind is None or t.kind == kind]
        assert len(found) == 1, f"expected one {kind} task, found {len(found)}"
        return found[0]
