"""The admissions service's Prometheus metrics, and the gateway hooks that feed them.

Labels are bounded sets: trigger (supported triggers or "unknown"), ACK code, transport
(mllp | http), table 0357 code, alert kind, stage. Never a member, MRN or name.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
                    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_ALERT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)

MESSAGES = Counter("admissions_messages_total", "ADT messages answered, by trigger and ACK code",
                   ["trigger", "ack_code"])
ACK_LATENCY = Histogram("admissions_ack_latency_seconds", "Message received to ACK ready (includes the Kafka write)",
                        ["transport"], buckets=_LATENCY_BUCKETS)
ADMIT_TO_ALERT = Histogram("admissions_admit_to_alert_seconds",
                           "Gateway received the admit/registration to the worker writing the alert",
                           buckets=_ALERT_BUCKETS)
CENSUS = Gauge("admissions_census", "Attributed members in house (open inpatient encounters), by facility",
               ["facility"])
UNMATCHED = Gauge("admissions_unmatched_patients", "Patient records no roster member matches yet")
DEAD_LETTERS = Counter("admissions_dead_letters_total", "Inbound messages dead-lettered, by table 0357 code",
                       ["reason_code"])
ALERTS = Counter("admissions_alerts_total", "Hospitalist alerts raised, by kind", ["kind"])
TRANSITIONS = Counter("admissions_transitions_total", "Care transitions emitted (discharges, incl. revisions)")
READMISSIONS = Counter("admissions_readmissions_total", "Readmissions emitted (not counting retractions)")
CONNECTIONS = Gauge("admissions_mllp_connections", "Open MLLP connections")
DUPLICATES = Counter("admissions_duplicates_total", "Messages already accepted, answered with the stored ACK",
                     ["transport"])
FAILURES = Counter("admissions_gateway_failures_total",
                   "Gateway steps that failed (publish, dead_letter, dedupe_get, dedupe_put, internal, write, connection_limit)",
                   ["transport", "stage"])
JUNK_BYTES = Counter("admissions_mllp_junk_bytes_total", "Bytes received outside MLLP frames")
FULL_PARSE_MISMATCHES = Counter("admissions_full_parse_mismatches_total",
                                "Messages where python-hl7's full parse disagreed with the ACK-path reader")
FIELD_WARNINGS = Counter("admissions_field_warnings_total",
                         "Odd optional fields accepted messages carried, by field (e.g. PV1-36) and kind "
                         "(too_long, bad_value, unknown_code, fallback, bad_encoding)", ["field", "kind"])
QUIRK_FLUSH_FAILURES = Counter("admissions_quirk_flush_failures_total",
                               "Write-behind flushes of the feed-quirks tally to the database that failed")
DEDUPE_FLUSH_FAILURES = Counter("admissions_dedupe_flush_failures_total",
                                "Write-behind flushes of accepted ACKs to the dedupe table that failed")


class PrometheusHooks:
    """``GatewayHooks`` for one transport (mllp | http)."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self._latency = ACK_LATENCY.labels(transport)
        self._duplicates = DUPLICATES.labels(transport)
        self._messages: dict[tuple[str, str], Counter] = {}

    def message(self, trigger: str, ack_code: str, seconds: float) -> None:
        key = (trigger, ack_code)
        counter = self._messages.get(key)
        if counter is None:
            counter = self._messages[key] = MESSAGES.labels(trigger, ack_code)
        counter.inc()
        self._latency.observe(seconds)

    def dead_lettered(self, code: int) -> None:
        DEAD_LETTERS.labels(str(code)).inc()

    def duplicate(self) -> None:
        self._duplicates.inc()

    def failure(self, stage: str) -> None:
        FAILURES.labels(self.transport, stage).inc()

    def junk(self, nbytes: int) -> None:
        JUNK_BYTES.inc(nbytes)

    def connections(self, delta: int) -> None:
        CONNECTIONS.inc(delta)

    def field_warnings(self, warnings) -> None:
        from .domain.leniency import FIELDS

        for field, kind in warnings:
            FIELD_WARNINGS.labels(field if field in FIELDS else "other", kind).inc()
