"""What outreach knows about a member: the latest roster facts and the diagnoses seen so far."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from shared.events import CareTransitionV1, ClaimV1, Event, MemberRosterV1

from .model import Task
from .rules import RulesConfig, normalize_code


@dataclass(frozen=True)
class MemberProfile:
    """The roster facts outreach uses (no names, no birth date)."""

    member_id: str
    practice_id: str
    contract_id: str
    pod: str | None = None
    risk_tier: str = "low"
    status: str = "active"
    eligibility: tuple[tuple[date, date | None], ...] = ()

    def active_on(self, day: date) -> bool:
        """On the roster and eligible on ``day`` (a roster without eligibility spans is taken
        at its word: active)."""
        if self.status != "active":
            return False
        if not self.eligibility:
            return True
        return any(start <= day and (end is None or day <= end) for start, end in self.eligibility)


def profile_from_roster(roster: MemberRosterV1) -> MemberProfile:
    return MemberProfile(
        member_id=roster.member_id,
        practice_id=roster.pcp_practice_id,
        contract_id=roster.contract_id,
        pod=roster.pod,
        risk_tier=roster.risk_tier,
        status=roster.status,
        eligibility=tuple((s.start, s.end) for s in roster.eligibility),
    )


@dataclass(frozen=True)
class MemberState:
    """Input of the task decisions: everything stored about one member.

    ``tasks``: the member's tasks — all open ones, plus closed ones (their ids and event ids
    make a redelivered event a no-op, and referral rules look at when the last one was made).
    ``known_diagnoses``: normalized ICD-10 codes seen for the member before this event.
    """

    member_id: str
    tasks: tuple[Task, ...] = ()
    profile: MemberProfile | None = None
    known_diagnoses: frozenset[str] = frozenset()

    def open_task(self, key: str) -> Task | None:
        for task in self.tasks:
            if task.key == key and task.is_open:
                return task
        return None

    def has_task_id(self, task_id: uuid.UUID) -> bool:
        return any(task.task_id == task_id for task in self.tasks)

    def already_applied(self, event_id: uuid.UUID) -> bool:
        """The event already changed one of this member's tasks (a redelivery)."""
        return any(task.touched_by(event_id) for task in self.tasks)


MAX_DIAGNOSIS_CODE = 16  # ICD-10-CM codes have at most 7 characters; anything past 16 is not a code


def diagnosis_codes(event: Event) -> frozenset[str]:
    """Normalized ICD-10 codes an event tells about the member (claims and care transitions).

    A void claim (frequency 8) tells nothing new; a "code" longer than ``MAX_DIAGNOSIS_CODE``
    is not one (it is neither remembered nor made a referral's evidence). The wiring adds these
    to the member's known diagnoses after deciding on the event.
    """
    if isinstance(event, ClaimV1):
        if event.frequency_code == "8":
            return frozenset()
        codes = (normalize_code(c) for c in event.diagnoses if c.strip())
    elif isinstance(event, CareTransitionV1):
        codes = (normalize_code(d.code) for d in event.diagnoses if d.code.strip())
    else:
        return frozenset()
    return frozenset(c for c in codes if len(c) <= MAX_DIAGNOSIS_CODE)


def local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def known_at(event: Event) -> datetime:
    """When the platform knew of the event: the later of its event time and its recording.

    Both travel with the event, so a replay gives the same instant. SLA clocks start here:
    a task born from a months-old event time would otherwise be overdue at birth.
    """
    return max(event.occurred_at, event.recorded_at)


def known_on(event: Event, tz: tzinfo) -> date:
    return local_day(known_at(event), tz)


def resolve_pod(pod: str | None, practice_id: str | None, rules: RulesConfig) -> str:
    """The member's pod; when missing, the practice's pod; else the configured default."""
    if pod:
        return pod
    if practice_id and practice_id in rules.practice_pods:
        return rules.practice_pods[practice_id]
    return rules.default_pod

