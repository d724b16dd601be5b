"""Delivery outcomes and the retry policy.

A delivery is owed until the receiver acknowledges it (HTTP 2xx; HL7 AA/CA). Anything else is
a failure: timeouts, refused or closed connections, 3xx (redirects are never followed), 4xx,
5xx, AE/AR/CE/CR. 410 Gone stops the subscription at once (the receiver said the endpoint is
gone for good). 429/503 with ``Retry-After`` wait at least that long.

Failures are the endpoint's, not the event's: after one, the subscription retries only its
oldest due delivery (the probe) after an exponential backoff with jitter, and the rest wait
without spending attempts; the first success releases them all. So a receiver down for minutes
costs a few probes, and its backlog drains at full speed the moment it answers again. A
delivery gives up after ``max_attempts`` attempts or once it is older than ``max_age_s`` (at its
next failure); it is then dead-lettered and the subscription's status becomes ``error``.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 100
    max_age_s: float = 86_400.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    backoff_multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("retry.max_attempts must be at least 1")
        if self.max_age_s <= 0 or self.backoff_initial_s <= 0 or self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("retry: max_age_s and backoff_initial_s must be > 0 and backoff_max_s >= backoff_initial_s")
        if self.backoff_multiplier < 1:
            raise ValueError("retry.backoff_multiplier must be at least 1")

    def backoff(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds before the next probe after ``failures`` consecutive failures (>= 1): the
        exponential step, with "equal jitter" (half fixed, half random) so a fleet of
        subscriptions that failed together does not come back in lockstep."""
        step = min(self.backoff_max_s, self.backoff_initial_s * self.backoff_multiplier ** max(0, failures - 1))
        r = (rng or random).random()
        return step / 2 + step / 2 * r

    def gives_up(self, attempts: int, created_at: datetime, now: datetime) -> str | None:
        """Why a delivery that just failed for the ``attempts``-th time is given up, or None."""
        if attempts >= self.max_attempts:
            return f"gave up after {attempts} attempts"
        age = (now - created_at).total_seconds()
        if age >= self.max_age_s:
            return f"gave up after {attempts} attempts over {age / 3600:.1f} h (max age {self.max_age_s / 3600:.1f} h)"
        return None

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, default: "RetryPolicy | None" = None) -> "RetryPolicy":
        base = asdict(default or cls())
        unknown = set(d or {}) - set(base)
        if unknown:
            raise ValueError(f"unknown retry setting {sorted(unknown)[0]!r}")
        base.update(d or {})
        return cls(**base)


@dataclass(frozen=True)
class Outcome:
    """What one attempt got back."""

    ok: bool
    status: str  # "200", "503", "AA", "AE", "timeout", "connect", "closed", "refused" (SSRF), ...
    latency_s: float
    error: str | None = None
    retry_after_s: float | None = None
    gone: bool = False  # 410: stop the subscription

    @classmethod
    def http(cls, code: int, latency_s: float, retry_after: str | None = None) -> "Outcome":
        ok = 200 <= code < 300
        error = None
        if not ok:
            error = {301: "redirect (not followed)", 302: "redirect (not followed)", 307: "redirect (not followed)",
                     308: "redirect (not followed)", 401: "unauthorized", 403: "forbidden", 404: "not found",
                     410: "gone", 413: "payload too large", 429: "too many requests"}.get(code, f"HTTP {code}")
        return cls(ok, str(code), latency_s, error, parse_retry_after(retry_after) if code in (429, 503) else None,
                   gone=code == 410)

    @classmethod
    def failed(cls, status: str, latency_s: float, error: str) -> "Outcome":
        return cls(False, status, latency_s, error)


def parse_retry_after(value: str | None, cap_s: float = 3600.0) -> float | None:
    """``Retry-After`` in seconds (delta-seconds form; an HTTP date is not honoured: None)."""
    if not value:
        return None
    try:
        return min(max(0.0, float(value.strip())), cap_s)
    except ValueError:
        return None


def next_probe(now: datetime, failures: int, policy: RetryPolicy, outcome: Outcome,
               rng: random.Random | None = None) -> datetime:
    delay = policy.backoff(failures, rng)
    if outcome.retry_after_s is not None:
        delay = max(delay, outcome.retry_after_s)
    return now + timedelta(seconds=delay)
