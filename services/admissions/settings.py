"""Settings of the admissions processes (mllp, worker, api). Environment names are the field
names in upper case (``MLLP_PORT``, ``MLLP_TLS_CERT``, ``READMISSION_WINDOW_DAYS`` ...)."""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from shared.calendar import BusinessCalendar
from shared.settings import CommonSettings
from shared.web.sessions import session_key

from .domain.reconcile import Env
from .domain.rules import AdmissionRules
from .domain.senders import SenderBook, sender_book


class AdmissionsSettings(CommonSettings):
    SERVICE: ClassVar[str] = "admissions"

    # ports (docker-compose and carectl/processes.py set API_PORT, WORKER_PORT, MLLP_PORT, MLLP_METRICS_PORT)
    api_port: int = Field(default=8010, description="HTTP API (census, inbox, ingest) with /metrics and /healthz")
    worker_port: int = Field(default=8011, description="the faust worker's /metrics and /healthz")
    mllp_port: int = Field(default=2575, description="the MLLP listener")
    mllp_metrics_port: int = Field(default=8012, description="the MLLP process's /metrics and /healthz")
    mllp_host: str | None = Field(default=None, description="interface the MLLP listener binds (default HTTP_HOST)")

    # MLLP transport
    mllp_tls_cert: str | None = Field(default=None, description="PEM certificate chain: enables TLS on the listener")
    mllp_tls_key: str | None = Field(default=None, description="PEM private key (if not in the certificate file)")
    mllp_tls_client_ca: str | None = Field(default=None, description="CA bundle that signs client certificates")
    mllp_tls_require_client_cert: bool = Field(default=False, description="mutual TLS: refuse clients without a certificate")
    mllp_idle_timeout_s: float = Field(default=300.0, gt=0, description="close a connection idle this long")
    mllp_max_frame_bytes: int = Field(default=1 << 20, ge=1024, description="larger messages get AR 207")
    mllp_max_connections: int = Field(default=256, ge=1, description="concurrent connections; more are refused")
    mllp_reuse_port: bool = Field(
        default=False, description="bind with SO_REUSEPORT: several mllp processes on one host share MLLP_PORT and "
                                   "the kernel spreads the connections over them (one Python process uses one core; "
                                   "give each its own MLLP_METRICS_PORT)")
    default_feed_timezone: str = Field(default="America/Chicago",
                                       description="zone of HL7 times that carry no offset")
    ingest_linger_ms: float = Field(
        default=0.0, ge=0, le=1000, description="librdkafka linger.ms of the ACK path's producer (MLLP and HTTP "
                                                "ingest): 0 writes at once, since each sender waits for its ACK")
    publish_timeout_s: float = Field(default=5.0, gt=0,
                                     description="how long an ACK waits for Kafka's confirmation before AE")
    dedupe_memory_entries: int = Field(default=500_000, ge=1000,
                                       description="(facility, MSH-10) -> ACK entries kept in memory per process")
    dedupe_retention_days: int = Field(default=7, ge=1, description="how long accepted ACKs are kept in the table")
    feed_policies_file: str | None = Field(
        default=None, description="YAML of per-sender overrides: strict/lenient, identifier priority, time zone, "
                                  "facility name (services/admissions/README.md); none: lenient defaults")
    mllp_default_facility: str | None = Field(
        default=None, max_length=64, description="sender identity when MSH-4 and MSH-3 are empty and no client "
                                                 "certificate names one (a listener dedicated to one hospital)")
    quirks_flush_s: float = Field(default=1.0, gt=0, description="how often the feed-quirks tally is written "
                                                                 "behind to the database (off the ACK path)")

    # worker
    batch_size: int = Field(default=200, ge=1, description="events per worker transaction")
    batch_within_s: float = Field(default=0.05, gt=0, description="seconds a batch's first event may wait for the batch to fill")
    worker_nice: int = Field(
        default=5, ge=0, le=19, description="CPU niceness the worker adds to itself: where it shares cores with the "
                                            "MLLP listener, the ACK (25 ms budget) goes before the alert (250 ms)")
    full_parse_audit: bool = Field(
        default=False, description="worker re-reads each raw HL7 message with python-hl7 and counts disagreements "
                                   "(~1 ms a message; off by default, see the benchmark)")

    gil_switch_interval_s: float = Field(
        default=0.001, gt=0, description="sys.setswitchinterval for the worker and mllp processes: a thread "
                                         "coming back from I/O (database, Kafka callbacks) waits at most this long "
                                         "for the interpreter (Python's default 5 ms adds up per round trip)")

    # rules (contract terms are configuration)
    readmission_window_days: int = Field(default=30, ge=1)
    transfer_gap_days: int = Field(default=1, ge=0)
    tcm_contact_business_days: int = Field(default=2, ge=1)
    tcm_visit_high_days: int = Field(default=7, ge=1)
    tcm_visit_moderate_days: int = Field(default=14, ge=1)
    inpatient_classes: str = Field(default="I", description="PV1-2 classes that are inpatient stays (comma list)")
    ed_classes: str = Field(default="E", description="PV1-2 classes that are ED visits (comma list)")

    # api
    ingest_users: str = Field(default="feed.adt",
                              description="user ids (comma list) allowed to POST ADT besides admins")
    sse_keepalive_s: float = Field(default=15.0, gt=0, description="comment line sent on an idle SSE stream")
    session_secret: SecretStr | None = Field(
        default=None, description="HMAC key of the hospitalist page's session cookie (required in production)")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 7, description="how long a page login lasts")

    @field_validator("default_feed_timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name") from None
        return v

    # ------------------------------------------------------------------ derived
    def feed_tz(self) -> tzinfo:
        return ZoneInfo(self.default_feed_timezone)

    def senders(self) -> SenderBook:
        """The per-sender policies (``FEED_POLICIES_FILE``), lenient defaults without a file."""
        data = None
        if self.feed_policies_file:
            import yaml

            with open(self.feed_policies_file, encoding="utf-8") as fh:
                data = yaml.safe_load(fh)
        return sender_book(data, self.mllp_default_facility)

    def rules(self) -> AdmissionRules:
        return AdmissionRules(
            inpatient_classes=_codes(self.inpatient_classes), ed_classes=_codes(self.ed_classes),
            transition_classes=_codes(self.inpatient_classes) | _codes(self.ed_classes),
            tcm_classes=_codes(self.inpatient_classes),
            tcm_contact_business_days=self.tcm_contact_business_days, tcm_visit_high_days=self.tcm_visit_high_days,
            tcm_visit_moderate_days=self.tcm_visit_moderate_days,
            readmission_window_days=self.readmission_window_days, transfer_gap_days=self.transfer_gap_days,
        )

    def env(self) -> Env:
        return Env(rules=self.rules(), calendar=BusinessCalendar.from_file(self.holidays_file), source="admissions")

    def ingest_user_ids(self) -> frozenset[str]:
        return _codes(self.ingest_users)

    def listener_host(self) -> str:
        return self.mllp_host or self.http_host

    def session_key(self) -> bytes:
        """The page sessions' HMAC key (``shared.web``): production refuses to run without a real
        one; development and tests get a random key per process."""
        return session_key(self.session_secret, production=self.is_production())


def _codes(text: str) -> frozenset[str]:
    return frozenset(c.strip() for c in text.split(",") if c.strip())
