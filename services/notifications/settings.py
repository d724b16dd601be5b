"""Notifications settings (environment variables are the field names in upper case)."""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from shared.settings import CommonSettings

from .domain.endpoints import OutboundPolicy


class NotificationsSettings(CommonSettings):
    SERVICE: ClassVar[str] = "notifications"

    api_port: int = Field(default=8060, description="the API (subscriptions, delivery log, /fhir)")
    worker_port: int = Field(default=8061, description="the worker's (consumer + dispatcher) /metrics and /healthz")
    public_base_url: str = Field(default="http://127.0.0.1:8060",
                                 description="how subscribers reach this API; the FHIR base is <this>/fhir")
    fhir_canonical_base: str = Field(default="https://ccp.example.org/fhir",
                                     description="base of the SubscriptionTopic canonical URLs")
    secrets_key: SecretStr | None = Field(default=None, description="32 random bytes, base64: AES-GCM key of the "
                                                                    "stored webhook secrets and channel headers")
    outbound_ports: str = Field(default="443,8443,2575,6661",
                                description="ports subscriptions may target (comma list, ranges a-b, or *)")
    outbound_allow_networks: str = Field(
        default="", description="non-public networks subscriptions may target anyway (comma list of CIDRs, e.g. "
                                "an interface engine's subnet; 127.0.0.1/32 in tests)")
    outbound_require_tls: bool | None = Field(default=None, description="https/mllps only; default: true in production")
    outbound_ca_file: str | None = Field(default=None, description="extra CA bundle for receivers' certificates")
    timezone: str = Field(default="America/New_York", description="the local day of the task-overdue rule")
    worker_batch_size: int = Field(default=500, ge=1, le=5000)
    worker_within_s: float = Field(default=0.02, gt=0, description="seconds a batch's first event may wait for the batch to fill")
    dispatch_batch: int = Field(default=500, ge=1, le=5000, description="deliveries leased per round")
    dispatch_poll_s: float = Field(default=0.5, gt=0, description="how often the dispatcher looks for work it was "
                                                                  "not woken for (other processes' batches)")
    reachability_check_s: float = Field(default=2.0, gt=0, description="how often a receiver that refused "
                                        "connections is tried with a bare connection (its probe follows at once)")
    lease_s: float = Field(default=120.0, gt=0, description="a delivery leased by a dispatcher that died is sent "
                                                            "again by another after this long")
    hold_unmatched_h: float = Field(default=72.0, ge=0, description="how long an HL7 message of a patient the "
                                    "roster does not name yet is kept, to be forwarded if the roster names them")
    overdue_interval_s: float = Field(default=60.0, gt=0, description="how often overdue tasks are looked for")
    dead_letter_interval_s: float = Field(default=1.0, gt=0, description="how often dead letters are published "
                                                                           "to notifications.dead_letters")
    gauges_interval_s: float = Field(default=5.0, gt=0, description="backlog and oldest-undelivered gauges")
    rotation_overlap_h: float = Field(default=24.0, gt=0, description="the old webhook secret signs too this long")
    max_subscriptions: int = Field(default=500, ge=1, description="bounds the per-subscription metric labels")
    default_max_in_flight: int = Field(default=32, ge=1, le=1000)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name") from None
        return v

    def outbound_policy(self) -> OutboundPolicy:
        require = self.is_production() if self.outbound_require_tls is None else self.outbound_require_tls
        return OutboundPolicy.parse(require_tls=require, ports=self.outbound_ports,
                                    networks=self.outbound_allow_networks)

    def fhir_base(self) -> str:
        return self.public_base_url.rstrip("/") + "/fhir"

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
