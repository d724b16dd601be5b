"""Wire format: JSON bodies, ``event_type``/``schema_version`` also as Kafka headers.

Decoding upcasts older versions to the newest before validation, so consumers only ever
see the latest model of each event type.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from .errors import InvalidEvent
from .events import LATEST, Event, model_for
from .events import UPCASTERS as EVENT_UPCASTERS

Headers = list[tuple[str, bytes]]
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (event_type, from_version) -> function returning the payload at from_version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = dict(EVENT_UPCASTERS)  # the contract's own (shared/events)


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` to lift ``event_type`` payloads from ``from_version`` to the next."""

    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def encode(event: Event) -> tuple[bytes, bytes, Headers]:
    """(key, value, headers) for Kafka."""
    value = event.model_dump_json().encode()
    headers: Headers = [
        ("event_type", event.event_type.encode()),
        ("schema_version", str(event.schema_version).encode()),
        ("event_id", str(event.event_id).encode()),
    ]
    return event.partition_key().encode(), value, headers


def header(headers: Iterable[tuple[str, bytes | None]] | dict | None, name: str) -> str | None:
    if not headers:
        return None
    items = headers.items() if isinstance(headers, dict) else headers
    for k, v in items:
        if k == name and v is not None:
            return v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else str(v)
    return None


def upcast(payload: dict[str, Any]) -> dict[str, Any]:
    event_type = payload.get("event_type")
    version = payload.get("schema_version")
    if not isinstance(event_type, str) or not isinstance(version, int):
        raise InvalidEvent("payload has no event_type/schema_version envelope")
    latest = LATEST.get(event_type)
    if latest is None:
        raise InvalidEvent(f"unknown event_type {event_type!r}")
    while version < latest:
        fn = UPCASTERS.get((event_type, version))
        if fn is None:
            raise InvalidEvent(f"no upcaster for {event_type} v{version}")
        payload = fn(dict(payload))
        new_version = payload.get("schema_version")
        if new_version != version + 1:
            raise InvalidEvent(f"upcaster for {event_type} v{version} did not produce v{version + 1}")
        version = new_version
    if version > latest:
        raise InvalidEvent(f"{event_type} v{version} is newer than this consumer knows (v{latest})")
    return payload


def decode(value: bytes | str | None, headers: Any = None, expect: tuple[type[Event], ...] | None = None) -> Event:
    """Bytes → the latest model of the event. Raises ``InvalidEvent`` with a readable reason."""
    if value is None:
        raise InvalidEvent("empty message body (tombstone)")
    fast = _latest_model_named_by_headers(headers, expect)
    if fast is not None:
        # The common case: the headers name the latest version of an expected type, so pydantic
        # validates straight from the bytes (no dict in between). Anything it rejects — an older
        # body under newer headers, a type mismatch, bad JSON — takes the full path below, which
        # upcasts or says precisely what is wrong.
        try:
            return fast.model_validate_json(value)
        except (ValidationError, ValueError):
            fast = None  # not lost: the full path below decides (upcast, or InvalidEvent with the reason)
    try:
        payload = json.loads(value)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and integers too long to convert;
        # RecursionError a body nested deeper than the parser goes.
        raise InvalidEvent(f"body is not JSON: {exc.__class__.__name__} at position {getattr(exc, 'pos', '?')}") from None
    if not isinstance(payload, dict):
        raise InvalidEvent("body is not a JSON object")
    h_type = header(headers, "event_type")
    if h_type is not None and payload.get("event_type") not in (None, h_type):
        raise InvalidEvent(f"header event_type {h_type!r} disagrees with body {payload.get('event_type')!r}")
    payload = upcast(payload)
    cls = model_for(payload["event_type"], payload["schema_version"])
    if cls is None:  # pragma: no cover - LATEST and MODELS come from the same table
        raise InvalidEvent(f"no model for {payload['event_type']} v{payload['schema_version']}")
    if expect is not None and not issubclass(cls, expect):
        raise InvalidEvent(f"unexpected event_type {payload['event_type']!r} on this topic")
    try:
        return cls.model_validate(payload)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc)) from None


def _latest_model_named_by_headers(headers: Any, expect: tuple[type[Event], ...] | None) -> type[Event] | None:
    h_type = header(headers, "event_type")
    h_version = header(headers, "schema_version")
    if h_type is None or h_version is None or not h_version.isdigit() or LATEST.get(h_type) != int(h_version):
        return None
    cls = model_for(h_type, int(h_version))
    if cls is None or (expect is not None and not issubclass(cls, expect)):
        return None
    return cls


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """Field paths and messages only: pydantic's default text echoes input values (PHI)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {err.get('msg')}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "invalid event: " + "; ".join(parts)
