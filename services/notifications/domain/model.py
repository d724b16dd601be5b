"""Value types: what the service knows about a member, an encounter, a gap and a task (its own
projections of the topics), and a notification owed to subscribers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime
from typing import Any

# uuid5 namespace of the service's derived ids (notification ids, FHIR resource ids): a constant,
# so a replay of the topics gives the same ids everywhere.
NAMESPACE = uuid.UUID("8d3c0f6a-5b1e-4f7a-9c2d-1e0b7a6f4c93")
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def derived(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts))


def notification_id(source_event_id: uuid.UUID | str, topic: str) -> uuid.UUID:
    """One id per (platform event, topic): the idempotency key every channel carries
    (webhook-id, Bundle.id); a redelivery or a replay of the topics carries the same."""
    return derived("notification", source_event_id, topic)


def patient_id(member_id: str) -> str:
    """FHIR Patient id of a member: the member id when it is a valid FHIR id, else a uuid5."""
    return member_id if FHIR_ID.match(member_id) else str(derived("patient", member_id))


def encounter_id(encounter_key: str) -> str:
    return str(derived("encounter", encounter_key))


def issue_id(gap_key: str) -> str:
    return str(derived("gap", gap_key))


@dataclass(frozen=True)
class Span:
    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Member:
    """The latest roster snapshot of a member (older snapshots never overwrite a newer one)."""

    member_id: str
    practice_id: str
    contract_id: str
    hospitalist_group: str | None = None
    program: str | None = None
    pod: str | None = None
    pcp_npi: str | None = None
    status: str = "active"
    given_name: str = ""
    family_name: str = ""
    birth_date: date | None = None
    sex: str = "U"
    eligibility: tuple[Span, ...] = ()
    mrns: tuple[str, ...] = ()  # patient keys "<authority>|<mrn>"
    as_of: datetime | None = None  # occurred_at of the snapshot

    def attributed_on(self, day: date) -> bool:
        if self.status != "active":
            return False
        return not self.eligibility or any(s.covers(day) for s in self.eligibility)


@dataclass(frozen=True)
class Audience:
    """Who a notification concerns, for subscription filters and access scope."""

    member_id: str
    practice_id: str | None = None
    hospitalist_group: str | None = None
    contract_id: str | None = None
    program: str | None = None
    facility: str | None = None
    pod: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"member_id": self.member_id, "practice_id": self.practice_id,
                "hospitalist_group": self.hospitalist_group, "contract_id": self.contract_id,
                "program": self.program, "facility": self.facility, "pod": self.pod}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Audience":
        return cls(**{k: d.get(k) for k in ("member_id", "practice_id", "hospitalist_group", "contract_id",
                                              "program", "facility", "pod")})


@dataclass(frozen=True)
class Notification:
    """An event owed to every subscription whose topic and filters match it.

    ``facts`` is a JSON-able snapshot taken when the event was processed: every payload form
    (webhook JSON, FHIR bundles, Da Vinci message) is built from it, so a redelivery carries
    the same body as the first attempt. ``hl7`` is the raw ADT message (``adt-feed`` only)."""

    event_id: uuid.UUID
    topic: str
    member_id: str
    occurred_at: datetime
    recorded_at: datetime
    source_event_id: uuid.UUID
    audience: Audience
    focus_type: str
    focus_id: str
    facts: dict[str, Any] = field(default_factory=dict)
    hl7: str | None = None

    @property
    def patient_fhir_id(self) -> str:
        return patient_id(self.member_id)


@dataclass(frozen=True)
class EncounterFacts:
    """The service's projection of one encounter (alerts and transitions), for FHIR reads."""

    key: str
    member_id: str
    facility: str
    status: str  # in-progress | finished | cancelled
    kind: str | None = None  # inpatient_admit | ed_visit
    patient_class: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    disposition: str | None = None
    location: dict[str, Any] | None = None
    prior_location: dict[str, Any] | None = None
    attending: dict[str, Any] | None = None
    diagnoses: tuple[dict[str, Any], ...] = ()
    alert_id: str | None = None
    transition_id: str | None = None
    tcm: dict[str, Any] | None = None  # contact_due, visit_due_high, visit_due_moderate, applicable
    updated_at: datetime | None = None

    @property
    def fhir_id(self) -> str:
        return encounter_id(self.key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "member_id": self.member_id, "facility": self.facility, "status": self.status,
            "kind": self.kind, "patient_class": self.patient_class, "start": _iso(self.start), "end": _iso(self.end),
            "disposition": self.disposition, "location": self.location, "prior_location": self.prior_location,
            "attending": self.attending, "diagnoses": list(self.diagnoses), "alert_id": self.alert_id,
            "transition_id": self.transition_id, "tcm": self.tcm, "updated_at": _iso(self.updated_at),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EncounterFacts":
        return cls(
            key=d["key"], member_id=d["member_id"], facility=d["facility"], status=d["status"], kind=d.get("kind"),
            patient_class=d.get("patient_class"), start=_dt(d.get("start")), end=_dt(d.get("end")),
            disposition=d.get("disposition"), location=d.get("location"), prior_location=d.get("prior_location"),
            attending=d.get("attending"), diagnoses=tuple(d.get("diagnoses") or ()), alert_id=d.get("alert_id"),
            transition_id=d.get("transition_id"), tcm=d.get("tcm"), updated_at=_dt(d.get("updated_at")),
        )


@dataclass(frozen=True)
class GapFacts:
    gap_key: str
    member_id: str
    measure_id: str
    measure_version: str
    status: str  # open | closed | due_soon | excluded | not_applicable
    reason: str
    period_start: date
    period_end: date
    practice_id: str
    contract_id: str
    due_date: date | None = None
    evidence: tuple[dict[str, Any], ...] = ()
    updated_at: datetime | None = None

    @cached_property
    def fhir_id(self) -> str:
        return issue_id(self.gap_key)

    def as_dict(self) -> dict[str, Any]:
        return {"gap_key": self.gap_key, "member_id": self.member_id, "measure_id": self.measure_id,
                "measure_version": self.measure_version, "status": self.status, "reason": self.reason,
                "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
                "practice_id": self.practice_id, "contract_id": self.contract_id,
                "due_date": self.due_date.isoformat() if self.due_date else None,
                "evidence": list(self.evidence), "updated_at": _iso(self.updated_at)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GapFacts":
        return cls(gap_key=d["gap_key"], member_id=d["member_id"], measure_id=d["measure_id"],
                   measure_version=d["measure_version"], status=d["status"], reason=d["reason"],
                   period_start=date.fromisoformat(d["period_start"]), period_end=date.fromisoformat(d["period_end"]),
                   practice_id=d["practice_id"], contract_id=d["contract_id"],
                   due_date=date.fromisoformat(d["due_date"]) if d.get("due_date") else None,
                   evidence=tuple(d.get("evidence") or ()), updated_at=_dt(d.get("updated_at")))


AWAITING_CONTACT = frozenset({"open", "claimed", "in_progress"})


@dataclass(frozen=True)
class TaskFacts:
    task_id: str
    member_id: str
    kind: str
    status: str
    queue: str
    reason_key: str
    version: int  # lifecycle events applied (a late, older event never overwrites a newer state)
    due_date: date | None = None
    practice_id: str | None = None
    contract_id: str | None = None
    assignee: str | None = None
    updated_at: datetime | None = None
    overdue_notified_for: date | None = None  # the due date an overdue notification was made for

    def as_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "member_id": self.member_id, "kind": self.kind, "status": self.status,
                "queue": self.queue, "reason_key": self.reason_key, "version": self.version,
                "due_date": self.due_date.isoformat() if self.due_date else None,
                "practice_id": self.practice_id, "contract_id": self.contract_id, "assignee": self.assignee,
                "updated_at": _iso(self.updated_at)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
