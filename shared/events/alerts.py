"""alerts.hospitalist: alerts to the member's hospitalist group and practice (key: member_id)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from .adt import Clinician, Diagnosis, Location
from .. import topics
from .envelope import Event


class AlertRaisedV1(Event):
    """Inpatient admission or ED registration of an attributed member."""

    TOPIC: ClassVar[str] = topics.ALERTS

    event_type: Literal["alert.raised"] = "alert.raised"
    schema_version: Literal[1] = 1
    member_id: str
    alert_id: uuid.UUID
    kind: Literal["inpatient_admit", "ed_visit"]
    encounter_key: str = Field(description="sending facility | visit number (PV1-19)")
    facility: str
    patient_class: str | None = None
    trigger: str
    event_time: AwareDatetime
    location: Location | None = None
    attending: Clinician | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    pcp_practice_id: str
    pcp_npi: str | None = None
    hospitalist_group: str | None = None
    pod: str | None = Field(default=None, description="care coordinator / nurse pod")
    program: str | None = None
    contract_id: str
    admits_30d: int = 0
    admits_90d: int = 0
    ed_visits_30d: int = 0
    ed_visits_90d: int = 0
    readmission: bool = False
    received_at: AwareDatetime | None = Field(default=None, description="when the gateway received the message")


class AlertUpdatedV1(Event):
    """A02 transfer (location) or A08 update (details) of an open alert: no second alert."""

    TOPIC: ClassVar[str] = topics.ALERTS

    event_type: Literal["alert.updated"] = "alert.updated"
    schema_version: Literal[1] = 1
    member_id: str
    alert_id: uuid.UUID
    trigger: str
    location: Location | None = None
    patient_class: str | None = None
    attending: Clinician | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    readmission: bool | None = Field(default=None, description="set when a late event changes the readmission flag")


class AlertRetractedV1(Event):
    """A11 cancel admit (or an A40 merge that folds the encounter away) withdraws the alert."""

    TOPIC: ClassVar[str] = topics.ALERTS

    event_type: Literal["alert.retracted"] = "alert.retracted"
    schema_version: Literal[1] = 1
    member_id: str
    alert_id: uuid.UUID
    reason: str
