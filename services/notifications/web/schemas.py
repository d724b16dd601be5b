"""Request and response bodies of the JSON API (``web/subscriptions.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    practices: list[str] = []
    hospitalist_groups: list[str] = []
    contracts: list[str] = []
    programs: list[str] = []
    facilities: list[str] = []
    patients: list[str] = []


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_attempts: int | None = Field(default=None, ge=1, le=10_000)
    max_age_s: float | None = Field(default=None, gt=0, le=30 * 86_400)
    backoff_initial_s: float | None = Field(default=None, gt=0, le=3600)
    backoff_max_s: float | None = Field(default=None, gt=0, le=86_400)
    backoff_multiplier: float | None = Field(default=None, ge=1, le=10)

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Hl7In(BaseModel):
    model_config = ConfigDict(extra="forbid")
    triggers: list[str] | None = Field(default=None, description="forward only these (MSH-9.2), e.g. A01, A03")
    segments: list[str] | None = Field(default=None, description="keep only these segments (MSH always)")
    receiving_application: str | None = Field(default=None, max_length=180, description="MSH-5 to stamp")
    receiving_facility: str | None = Field(default=None, max_length=180, description="MSH-6 to stamp")


Channel = Literal["webhook", "fhir-rest-hook", "davinci", "mllp"]
Content = Literal["empty", "id-only", "full-resource"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel = "webhook"
    endpoint: str = Field(min_length=1, max_length=2000)
    topics: list[str] = Field(min_length=1, max_length=20)
    filters: FiltersIn = FiltersIn()
    content: Content = "id-only"
    name: str = Field(default="", max_length=200)
    practice_id: str | None = Field(default=None, max_length=64, description="owner: confined to this practice")
    hospitalist_group: str | None = Field(default=None, max_length=64, description="owner: confined to this group")
    timeout_s: float = Field(default=10.0, ge=0.5, le=120)
    max_in_flight: int | None = Field(default=None, ge=1, le=1000)
    heartbeat_period_s: int | None = Field(default=None, ge=1, le=86_400)
    retry: RetryIn = RetryIn()
    end: AwareDatetime | None = None
    hl7: Hl7In | None = None
    headers: list[str] | None = Field(default=None, max_length=10, description="'Name: value' sent on every POST "
                                                                             "(fhir-rest-hook, davinci); stored encrypted")
    status: Literal["active", "off"] | None = None


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expected_version: int = Field(ge=1)
    endpoint: str | None = Field(default=None, min_length=1, max_length=2000)
    topics: list[str] | None = Field(default=None, min_length=1, max_length=20)
    filters: FiltersIn | None = None
    content: Content | None = None
    name: str | None = Field(default=None, max_length=200)
    timeout_s: float | None = Field(default=None, ge=0.5, le=120)
    max_in_flight: int | None = Field(default=None, ge=1, le=1000)
    heartbeat_period_s: int | None = Field(default=None, ge=1, le=86_400)
    retry: RetryIn | None = None
    end: AwareDatetime | None = None
    hl7: Hl7In | None = None
    headers: list[str] | None = Field(default=None, max_length=10)
    status: Literal["active", "off"] | None = None


class SubscriptionOut(BaseModel):
    id: str
    channel: str
    status: str
    status_reason: str | None
    name: str
    endpoint: str
    topics: list[str]
    filters: dict[str, list[str]]
    content: str
    practice_id: str | None
    hospitalist_group: str | None
    timeout_s: float
    max_in_flight: int
    heartbeat_period_s: int | None
    retry: dict[str, float]
    end: datetime | None
    hl7: dict[str, Any] | None
    events_count: int
    version: int
    created_by: str | None
    created_at: datetime | None
    updated_at: datetime | None
    secret: str | None = Field(default=None, description="the webhook signing secret: shown once, at creation "
                                                         "or rotation")

    @classmethod
    def of(cls, sub, secret: str | None = None) -> "SubscriptionOut":
        return cls(id=sub.id, channel=sub.channel, status=sub.status, status_reason=sub.status_reason, name=sub.name,
                   endpoint=sub.endpoint, topics=list(sub.topics), filters=sub.filters.as_dict(), content=sub.content,
                   practice_id=sub.practice_id, hospitalist_group=sub.hospitalist_group, timeout_s=sub.timeout_s,
                   max_in_flight=sub.max_in_flight, heartbeat_period_s=sub.heartbeat_period_s,
                   retry=sub.retry.as_dict(), end=sub.end, hl7=sub.hl7.as_dict() if sub.hl7 else None,
                   events_count=sub.events_count, version=sub.version, created_by=sub.created_by,
                   created_at=sub.created_at, updated_at=sub.updated_at, secret=secret)
