"""Use cases of subscription management: create, change, delete, rotate the webhook secret,
reactivate after an error, redeliver dead letters, and the reads (the subscription, its
deliveries and attempts, its events by number) — each checked against the actor's rights."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..domain import topics as t
from ..domain import webhooks
from ..domain.access import Actor
from ..domain.endpoints import HTTP_SCHEMES, MLLP_SCHEMES, EndpointRefused, OutboundPolicy
from ..domain.filters import Filters, FilterError
from ..domain.model import Notification
from ..domain.retry import RetryPolicy
from ..domain.subscription import CONTENTS, Hl7Options, Subscription


class NotAllowed(Exception):
    """403: the actor may not do this."""


class NotFound(Exception):
    """404: no such subscription (or not one the actor may see)."""


class Invalid(ValueError):
    """422 / FHIR 400: the request cannot be honoured (the message says why)."""


class Conflict(Exception):
    """409: the subscription changed since the version the caller read."""


@dataclass(frozen=True)
class SecretSpec:
    kind: str  # webhook | headers
    plaintext: bytes
    expires_at: datetime | None = None
    hint: str | None = None


class SubscriptionStore(Protocol):
    def count(self) -> int: ...
    def add(self, sub: Subscription, secrets: list[SecretSpec]) -> None: ...
    def get(self, sub_id: str) -> Subscription | None: ...
    def all(self) -> list[Subscription]: ...
    def save(self, sub: Subscription, expected_version: int, secrets: list[SecretSpec] | None = None,
             reset_dispatch: bool = False) -> Subscription: ...
    def delete(self, sub_id: str) -> None: ...
    def add_secret(self, sub_id: str, secret: SecretSpec, expire_others_at: datetime | None) -> None: ...
    def redeliver(self, sub_id: str, now: datetime) -> int: ...
    def events(self, sub_id: str, since: int, until: int) -> list[tuple[int, Notification]]: ...
    def masked_headers(self, sub_id: str) -> list[str]: ...


class Resolver(Protocol):
    def resolve(self, host: str, port: int) -> list[str]: ...


@dataclass
class Limits:
    max_subscriptions: int = 500
    default_max_in_flight: int = 32
    rotation_overlap: timedelta = timedelta(hours=24)
    max_events_window: int = 1000


class Subscriptions:
    def __init__(self, store: SubscriptionStore, policy: OutboundPolicy, resolver: Resolver, limits: Limits) -> None:
        self.store = store
        self.policy = policy
        self.resolver = resolver
        self.limits = limits

    # ------------------------------------------------------------------ checks
    def check_endpoint(self, channel: str, endpoint: str) -> None:
        schemes = MLLP_SCHEMES if channel == t.MLLP else HTTP_SCHEMES
        try:
            target = self.policy.check_url(endpoint, schemes)
            if _is_name(target.host):
                self.policy.check_resolved(self.resolver.resolve(target.host, target.port))
        except EndpointRefused as exc:
            raise Invalid(f"endpoint refused: {exc}") from None
        except OSError:
            raise Invalid("endpoint refused: its host does not resolve") from None

    def _validated(self, sub: Subscription) -> Subscription:
        try:
            return self._checked(sub)
        except TypeError:  # a value of the wrong type (null where a number belongs): the caller's error
            raise Invalid("a setting has a value of the wrong type (null or not a number)") from None

    def _checked(self, sub: Subscription) -> Subscription:
        if sub.channel not in t.CHANNELS:
            raise Invalid(f"channel must be one of {', '.join(t.CHANNELS)}")
        if not sub.topics:
            raise Invalid("name at least one topic")
        allowed = t.channel_topics(sub.channel)
        for topic in sub.topics:
            if topic not in allowed:
                raise Invalid(f"topic {topic!r} cannot be delivered over {sub.channel} "
                              f"(it carries: {', '.join(allowed)})")
        if sub.channel == t.FHIR and len(sub.topics) != 1:
            raise Invalid("a FHIR Subscription has exactly one topic")
        if sub.content not in CONTENTS:
            raise Invalid(f"content must be one of {', '.join(CONTENTS)}")
        if not 0.5 <= sub.timeout_s <= 120:
            raise Invalid("timeout_s must be between 0.5 and 120 seconds")
        if not 1 <= sub.max_in_flight <= 1000:
            raise Invalid("max_in_flight must be between 1 and 1000")
        if sub.max_count < 1:
            raise Invalid("max_count must be at least 1")
        if sub.heartbeat_period_s is not None and not 1 <= sub.heartbeat_period_s <= 86_400:
            raise Invalid("heartbeat_period_s must be between 1 and 86400")
        if sub.practice_id and sub.hospitalist_group:
            raise Invalid("a subscription is owned by a practice or by a hospitalist group, not both")
        try:
            filters = sub.filters.confined_to(sub.practice_id, sub.hospitalist_group)
        except FilterError as exc:
            raise Invalid(str(exc)) from None
        if sub.channel == t.MLLP:
            sub = replace(sub, max_in_flight=1)  # one connection, in order
        if sub.channel == t.DAVINCI:
            sub = replace(sub, content="full-resource")  # the message always carries its resources
        self.check_endpoint(sub.channel, sub.endpoint)
        return replace(sub, filters=filters)

    def visible(self, actor: Actor, sub_id: str) -> Subscription:
        sub = self.store.get(sub_id)
        if sub is None or not actor.sees_subscription(sub):
            raise NotFound()
        return sub

    def _managed(self, actor: Actor, sub_id: str) -> Subscription:
        if not actor.manages:
            raise NotAllowed("requires role: ops or admin")
        return self.visible(actor, sub_id)

    # ------------------------------------------------------------------ commands
    def create(self, actor: Actor, spec: dict[str, Any], now: datetime, *, headers: list[str] | None = None
               ) -> tuple[Subscription, str | None]:
        """Returns the subscription and, for a webhook, its secret (shown this once)."""
        if not actor.manages:
            raise NotAllowed("requires role: ops or admin")
        if self.store.count() >= self.limits.max_subscriptions:
            raise Invalid(f"this platform allows at most {self.limits.max_subscriptions} subscriptions")
        channel = spec.get("channel", t.WEBHOOK)
        try:
            sub = Subscription(
                id=str(uuid.uuid4()), channel=channel, topics=tuple(dict.fromkeys(spec.get("topics") or ())),
                endpoint=spec.get("endpoint") or "", filters=_filters(spec.get("filters")),
                content=spec.get("content") or "id-only",
                status="requested" if channel == t.FHIR else "active", name=(spec.get("name") or "")[:200],
                practice_id=spec.get("practice_id"), hospitalist_group=spec.get("hospitalist_group"),
                heartbeat_period_s=spec.get("heartbeat_period_s"), timeout_s=float(spec.get("timeout_s") or 10.0),
                max_count=int(spec.get("max_count") or 1),
                max_in_flight=int(spec.get("max_in_flight") or self.limits.default_max_in_flight),
                retry=RetryPolicy.from_dict(spec.get("retry")), end=spec.get("end"),
                hl7=Hl7Options.from_dict(spec.get("hl7")) if spec.get("hl7") else None,
                created_by=actor.id, created_at=now, updated_at=now)
        except (TypeError, ValueError) as exc:
            raise Invalid(str(exc)) from None
        if spec.get("status") == "off":
            sub = replace(sub, status="off")
        sub = self._validated(sub)
        secrets: list[SecretSpec] = []
        secret = None
        if channel == t.WEBHOOK:
            secret = webhooks.new_secret()
            secrets.append(SecretSpec("webhook", webhooks.secret_bytes(secret), hint=secret[-4:]))
        if headers:
            import json

            secrets.append(SecretSpec("headers", json.dumps(headers).encode()))
        self.store.add(sub, secrets)
        return sub, secret

    def update(self, actor: Actor, sub_id: str, changes: dict[str, Any], expected_version: int, now: datetime,
               *, headers: list[str] | None = None) -> Subscription:
        sub = self._managed(actor, sub_id)
        allowed = {"topics", "endpoint", "filters", "content", "name", "heartbeat_period_s", "timeout_s", "max_count",
                   "max_in_flight", "retry", "end", "hl7", "status"}
        unknown = set(changes) - allowed
        if unknown:
            raise Invalid(f"cannot change {sorted(unknown)[0]!r}")
        try:
            values: dict[str, Any] = {}
            for k, v in changes.items():
                if k == "topics":
                    values[k] = tuple(dict.fromkeys(v or ()))
                elif k == "filters":
                    values[k] = _filters(v)
                elif k == "retry":
                    values[k] = RetryPolicy.from_dict(v)
                elif k == "hl7":
                    values[k] = Hl7Options.from_dict(v) if v else None
                elif k == "status":
                    continue
                else:
                    values[k] = v
            new = replace(sub, **values, updated_at=now)
        except (TypeError, ValueError) as exc:
            raise Invalid(str(exc)) from None
        reset = False
        status = changes.get("status")
        if status is not None:
            if status not in ("requested", "active", "off"):
                raise Invalid("status may be set to requested, active or off")
            if status == "off":
                new = replace(new, status="off", status_reason=None)
            else:
                new = replace(new, status="requested" if new.channel == t.FHIR else "active", status_reason=None)
                reset = True
        new = self._validated(new)
        import json

        secrets = [SecretSpec("headers", json.dumps(headers).encode())] if headers is not None else None
        return self.store.save(new, expected_version, secrets, reset_dispatch=reset)

    def reactivate(self, actor: Actor, sub_id: str, now: datetime) -> Subscription:
        sub = self._managed(actor, sub_id)
        return self.update(actor, sub_id, {"status": "active"}, sub.version, now)

    def delete(self, actor: Actor, sub_id: str) -> None:
        self._managed(actor, sub_id)
        self.store.delete(sub_id)

    def rotate_secret(self, actor: Actor, sub_id: str, now: datetime) -> str:
        sub = self._managed(actor, sub_id)
        if sub.channel != t.WEBHOOK:
            raise Invalid("only webhook subscriptions have a signing secret")
        secret = webhooks.new_secret()
        self.store.add_secret(sub_id, SecretSpec("webhook", webhooks.secret_bytes(secret), hint=secret[-4:]),
                              expire_others_at=now + self.limits.rotation_overlap)
        self.store.save(replace(sub, updated_at=now), sub.version)  # new version: signers reload the keys
        return secret

    def redeliver(self, actor: Actor, sub_id: str, now: datetime) -> int:
        self._managed(actor, sub_id)
        return self.store.redeliver(sub_id, now)

    # ------------------------------------------------------------------ reads
    def list(self, actor: Actor) -> list[Subscription]:
        return [s for s in self.store.all() if actor.sees_subscription(s)]

    def events(self, actor: Actor, sub_id: str, since: int | None, until: int | None
               ) -> tuple[Subscription, list[tuple[int, Notification]]]:
        sub = self.visible(actor, sub_id)
        hi = sub.events_count if until is None else min(until, sub.events_count)
        lo = max(1, since if since is not None else hi - self.limits.max_events_window + 1)
        if hi - lo + 1 > self.limits.max_events_window:
            raise Invalid(f"ask for at most {self.limits.max_events_window} events at a time")
        if lo > hi:
            return sub, []
        return sub, self.store.events(sub_id, lo, hi)


def _filters(d: Any) -> Filters:
    try:
        return Filters.from_dict(d)
    except FilterError as exc:
        raise Invalid(str(exc)) from None


def _is_name(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
        return False
    except ValueError:
        return True
