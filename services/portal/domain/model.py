"""What the portal keeps about a member: plain frozen values, one per thing a member sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

EncounterSetting = Literal["inpatient", "emergency"]
EncounterStatus = Literal["in_progress", "finished", "cancelled"]


@dataclass(frozen=True)
class Member:
    member_id: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    pcp_practice_id: str
    pcp_npi: str | None
    pod: str | None
    contract_id: str
    program: str | None
    status: str                      # active | termed
    eligibility_end: date | None
    as_of: datetime                  # event time of the snapshot kept

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class Encounter:
    member_id: str
    encounter_key: str
    setting: EncounterSetting
    facility: str
    started_at: datetime | None
    ended_at: datetime | None
    status: EncounterStatus
    alert_id: uuid.UUID | None
    transition_id: uuid.UUID | None
    updated_at: datetime


@dataclass(frozen=True)
class Gap:
    gap_key: str
    member_id: str
    measure_id: str
    status: str                      # open | closed | due_soon | excluded | not_applicable
    reason: str
    due_date: date | None
    period_end: date
    occurred_at: datetime


@dataclass(frozen=True)
class CareTask:
    task_id: uuid.UUID
    member_id: str
    kind: str
    reason_key: str
    role: str
    status: str
    due_date: date | None
    appointment_date: date | None
    assignee: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class Message:
    message_id: uuid.UUID
    member_id: str
    topic: str
    subject: str
    body: str
    sent_at: datetime
    in_reply_to: uuid.UUID | None
    via: str


@dataclass(frozen=True)
class Reply:
    reply_id: uuid.UUID
    member_id: str
    message_id: uuid.UUID
    task_id: uuid.UUID | None
    body: str
    author_name: str
    author_role: str
    sent_at: datetime


@dataclass(frozen=True)
class Practice:
    """A practice as the member should read it (from the directory file, else its id)."""

    practice_id: str
    name: str
    phone: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Clinician:
    npi: str
    name: str
