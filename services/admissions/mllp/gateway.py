"""The intake pipeline of one inbound ADT message, independent of the transport.

The MLLP listener calls ``AdtGateway.handle`` for each frame; the HTTP ingest calls the same
``handle`` for an HL7 body and ``handle_json`` for a JSON ADT body. Semantics:

1. read, identify the sender (``senders``: MSH-4, MSH-3, TLS certificate, listener), judge
   (``leniency``: odd optional fields are warnings) and map to ``AdtEventV2``; a refusal →
   NAK (AE/AR; CR in enhanced mode, or CA + an application AE/AR when MSH-16 asks) with ERR
   segments, and the raw bytes go to ``dead_letter(raw, reason, code)``. If the dead letter
   cannot be written the answer is AE/CE 207 (send again) rather than a NAK that would lose it;
2. a (sender, MSH-10) already accepted → the stored answer again, nothing published
   (concurrent duplicates on one process wait for the first to finish);
3. ``await publish(event, raw)``; it must return only once the event is durably written
   (acks=all, delivery confirmed) and raise otherwise. A failure or a timeout → AE/CE 207 and
   nothing stored, so the sender's retry is processed afresh;
4. AA/CA (with ERR severity W per warning when the sender's policy asks, and the application
   AA when MSH-16 asks), stored in the dedupe store. A store failure is counted, the ACK still
   sent: the event is written, and its id is deterministic (sender, MSH-10), so a later
   duplicate that slips through is dropped by the worker's processed-events check.

Every answer is also counted per sender for the feed-quirks report (``QuirkSink``, off the
ACK path: an in-memory tally written behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, AsyncIterator, Protocol

from shared.errors import InvalidEvent
from shared.events import SUPPORTED_TRIGGERS_V2, AdtEventV2, utcnow

from ..domain.ack import Ack, ack_wanted, application_ack_wanted, build_ack
from ..domain.adt_event import adt_event_from_json, to_adt_event
from ..domain.hl7_errors import APPLICATION_INTERNAL_ERROR, DATA_TYPE_ERROR, SEGMENT_SEQUENCE, Hl7Issue, error, reject
from ..domain.hl7_reader import Hl7Message
from ..domain.senders import LENIENT_DEFAULTS, SenderBook
from ..domain.validation import DEFAULT_POLICY, Inspection, ValidationPolicy, inspect
from .hooks import Counters, GatewayHooks, NullQuirks, QuirkSink

Publish = Callable[[AdtEventV2, bytes], Awaitable[None]]
UNIDENTIFIED = "(unidentified)"  # the quirks report's row for messages with no readable sender
_SEP = b"\x1c"  # between the accept ACK and the application ACK in a stored answer (never in HL7 text)
DeadLetter = Callable[[bytes, str, int], Awaitable[None]]

RETRY_TEXT = "the message could not be stored; send it again"


class DedupeStore(Protocol):
    """(sending facility, MSH-10) → the ACK bytes sent when the message was accepted. A store whose
    ``get``/``put`` never wait on I/O says so with ``in_memory = True`` (no deadline is armed around
    them: two timers less per message on the ACK path)."""

    async def get(self, sending_facility: str, control_id: str) -> bytes | None: ...

    async def put(self, sending_facility: str, control_id: str, ack: bytes) -> None: ...


class MemoryDedupeStore:
    """A process-local ``DedupeStore`` (tests, single-process demos)."""

    in_memory = True

    def __init__(self) -> None:
        self.acks: dict[tuple[str, str], bytes] = {}

    async def get(self, sending_facility: str, control_id: str) -> bytes | None:
        return self.acks.get((sending_facility, control_id))

    async def put(self, sending_facility: str, control_id: str, ack: bytes) -> None:
        self.acks[(sending_facility, control_id)] = ack


@dataclass(frozen=True)
class GatewayConfig:
    default_tz: tzinfo = timezone.utc  # for HL7 times without an offset
    policy: ValidationPolicy = DEFAULT_POLICY
    senders: SenderBook = LENIENT_DEFAULTS  # per-sender overrides (identity, strictness, ids, zone)
    source_prefix: str = "mllp"  # AdtEventV2.source = "<prefix>:<sending facility>"
    local_application: str = "CCP"  # ACK MSH-3/4 when the message's MSH-5/6 are empty
    local_facility: str = "CCP"
    publish_timeout: float = 10.0
    dead_letter_timeout: float = 10.0
    dedupe_timeout: float = 2.0


@dataclass(frozen=True)
class IntakeResult:
    ack: Ack
    trigger: str  # a supported trigger or "unknown" (bounded, for metrics)
    event: AdtEventV2 | None = None
    duplicate: bool = False
    issues: tuple[Hl7Issue, ...] = ()
    followups: tuple[Ack, ...] = ()  # the application acknowledgment (enhanced mode, MSH-16)

    def replies(self) -> list[bytes]:
        """What goes back on the connection, in order."""
        return ([self.ack.data] if self.ack.send else []) + [f.data for f in self.followups]

    @property
    def answer(self) -> Ack:
        """The acknowledgment that carries the verdict (the application ACK when there is one)."""
        return self.followups[-1] if self.followups else self.ack


@dataclass(frozen=True)
class JsonResult:
    status: str  # accepted | duplicate | rejected | error
    http_status: int  # 202 | 200 | 422 | 503
    event_id: str | None = None
    detail: str | None = None

    def body(self) -> bytes:
        return json.dumps({k: v for k, v in self.__dict__.items() if k != "http_status" and v is not None}).encode()


@dataclass
class _KeyedLocks:
    locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @asynccontextmanager
    async def hold(self, key: tuple[str, str]) -> AsyncIterator[None]:
        lock, users = self.locks.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self.locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.locks[key]
            if users <= 1:
                del self.locks[key]
            else:
                self.locks[key] = (lock, users - 1)


def _bounded(trigger: str) -> str:
    return trigger if trigger in SUPPORTED_TRIGGERS_V2 else "unknown"


class AdtGateway:
    def __init__(
        self, publish: Publish, dead_letter: DeadLetter, dedupe: DedupeStore, config: GatewayConfig = GatewayConfig(),
        hooks: GatewayHooks | None = None, clock: Callable[[], datetime] = utcnow,
        quirks: QuirkSink | None = None,
    ) -> None:
        self.quirks: QuirkSink = quirks if quirks is not None else NullQuirks()
        self.publish = publish
        self.dead_letter = dead_letter
        self.dedupe = dedupe
        self.config = config
        self.hooks: GatewayHooks = hooks if hooks is not None else Counters()
        self.clock = clock
        self._locks = _KeyedLocks()
        self._dedupe_in_memory = bool(getattr(dedupe, "in_memory", False))

    # ------------------------------------------------------------------ HL7

    async def handle(self, data: bytes, received_at: datetime | None = None, tls_cn: str | None = None) -> IntakeResult:
        """One HL7 message in, its ACK out. Never raises (except cancellation). ``tls_cn``: the
        common name of the connection's client certificate (a sender identity of last resort)."""
        started = time.perf_counter()
        try:
            result = await self._handle(data, received_at or self.clock(), tls_cn)
        except Exception:  # a bug must not leave the sender without an answer or take the listener down
            self.hooks.failure("internal")
            ack = build_ack(None, None, [error(APPLICATION_INTERNAL_ERROR, RETRY_TEXT)], now=utcnow())
            result = IntakeResult(ack, "unknown")
        self.hooks.message(result.trigger, result.answer.code, time.perf_counter() - started)
        return result

    async def refuse(self, data: bytes, issue: Hl7Issue, tls_cn: str | None = None) -> IntakeResult:
        """A frame refused before reading (cut short, too large): NAK + dead letter. The NAK
        echoes MSH-10 when the part received still shows it."""
        started = time.perf_counter()
        ins = self._inspect(data, tls_cn)
        result = await self._nak(data, Inspection(ins.message, ins.fields, [issue], ins.assessment))
        self.hooks.message(result.trigger, result.answer.code, time.perf_counter() - started)
        return result

    async def refuse_too_large(self, head: bytes, limit: int, tls_cn: str | None = None) -> IntakeResult:
        """A message larger than ``limit`` bytes (``head``: its first bytes): AR 207 + dead letter."""
        return await self.refuse(head, refused_too_large(limit), tls_cn)

    async def junk(self, data: bytes) -> None:
        """Bytes outside any frame: counted, and dead-lettered unless only whitespace."""
        self.hooks.junk(len(data))
        if data.strip():
            await self._dead_letter(data, "bytes received outside an MLLP frame", SEGMENT_SEQUENCE)

    def _inspect(self, data: bytes, tls_cn: str | None) -> Inspection:
        c = self.config
        return inspect(data, c.default_tz, c.policy, c.senders, tls_cn)

    async def _handle(self, data: bytes, received_at: datetime, tls_cn: str | None) -> IntakeResult:
        ins = self._inspect(data, tls_cn)
        if not ins.ok:
            return await self._nak(data, ins)
        msg, fields, sender = ins.message, ins.fields, ins.sender
        assert msg is not None and fields is not None and sender is not None
        trigger = _bounded(fields.trigger)
        event, issues = to_adt_event(fields, raw=msg.text, received_at=received_at,
                                     source=f"{self.config.source_prefix}:{fields.sending_facility}",
                                     assessment=ins.assessment)
        if event is None:
            return await self._nak(data, Inspection(msg, fields, issues, ins.assessment))
        policy = sender.policy
        shown = [w.as_warning_issue() for w in ins.warnings] if policy.warnings_in_ack else []
        app = self._application_acks(fields, policy.application_acks, "AA")
        ack = self._ack(msg, fields, [], warnings=() if app else shown)
        followups = (self._ack(msg, fields, [], warnings=shown, application=True),) if app else ()
        answer = _SEP.join([ack.data, *(f.data for f in followups)])
        status, stored = await self._write_once((fields.sending_facility, fields.control_id), event, data, answer)
        if status == "failed":
            return IntakeResult(self._ack(msg, fields, [error(APPLICATION_INTERNAL_ERROR, RETRY_TEXT)]), trigger)
        if status == "duplicate":
            self.quirks.record(sender.facility, "duplicate")
            first, *rest = stored.split(_SEP)
            code = Hl7Message.parse(first).value("MSA", 1) if first.startswith(b"MSH") else "AA"
            send = ack_wanted(fields.accept_ack_type, code, fields.enhanced_mode)
            again = tuple(Ack(Hl7Message.parse(r).value("MSA", 1), r.decode(msg.encoding, "replace"), r) for r in rest
                          if r.startswith(b"MSH"))
            return IntakeResult(Ack(code, first.decode(msg.encoding, "replace"), first, send), trigger,
                                duplicate=True, followups=again)
        self.quirks.record(sender.facility, "accepted", warnings=ins.warnings)
        if ins.warnings:
            self.hooks.field_warnings([(w.field, w.kind) for w in ins.warnings])
        return IntakeResult(ack, trigger, event, followups=followups)

    def _application_acks(self, fields: Any, allowed: bool, code: str) -> bool:
        """Whether this exchange gets an application acknowledgment (enhanced mode, MSH-16)."""
        return bool(allowed and fields is not None and fields.enhanced_mode
                    and application_ack_wanted(fields.application_ack_type, code))

    async def _write_once(self, key: tuple[str, str], event: AdtEventV2, raw: bytes,
                          answer: bytes) -> tuple[str, bytes]:
        """Publish unless the key was accepted before. ("duplicate", the stored answer),
        ("failed", b"") or ("accepted", ``answer``, now stored for later duplicates)."""
        async with self._locks.hold(key):
            stored = await self._dedupe_get(key)
            if stored is not None:
                self.hooks.duplicate()
                return "duplicate", stored
            try:
                async with asyncio.timeout(self.config.publish_timeout):
                    await self.publish(event, bytes(raw))
            except Exception:
                self.hooks.failure("publish")
                return "failed", b""
            try:
                async with self._dedupe_deadline():
                    await self.dedupe.put(*key, answer)
            except Exception:
                self.hooks.failure("dedupe_put")
            return "accepted", answer

    async def _nak(self, data: bytes, ins: Inspection) -> IntakeResult:
        trigger = _bounded(ins.fields.trigger) if ins.fields else "unknown"
        reason = "; ".join(i.describe() for i in ins.issues)
        if not await self._dead_letter(data, reason, ins.issues[0].code):
            return IntakeResult(self._ack(ins.message, ins.fields, [error(APPLICATION_INTERNAL_ERROR, RETRY_TEXT)]),
                                trigger)
        sender = ins.sender
        self.quirks.record(sender.facility if sender else UNIDENTIFIED, "refused", issues=ins.issues)
        refused = "AR" if any(i.reject for i in ins.issues) else "AE"
        if ins.message is not None and self._application_acks(
                ins.fields, sender.policy.application_acks if sender else True, refused):
            # enhanced mode with application acknowledgments: CA (kept, dead-lettered), then the verdict
            accept = self._ack(ins.message, ins.fields, [])
            verdict = self._ack(ins.message, ins.fields, ins.issues, application=True)
            return IntakeResult(accept, trigger, issues=tuple(ins.issues), followups=(verdict,))
        return IntakeResult(self._ack(ins.message, ins.fields, ins.issues), trigger, issues=tuple(ins.issues))

    async def _dead_letter(self, data: bytes, reason: str, code: int) -> bool:
        try:
            async with asyncio.timeout(self.config.dead_letter_timeout):
                await self.dead_letter(bytes(data), reason, code)
        except Exception:
            self.hooks.failure("dead_letter")
            return False
        self.hooks.dead_lettered(code)
        return True

    def _dedupe_deadline(self):
        """The deadline around a duplicate-store call: none for an in-memory store (two timers less per
        message); else ``dedupe_timeout`` (``asyncio.timeout``: cheaper than wait_for, no extra task)."""
        return contextlib.nullcontext() if self._dedupe_in_memory else asyncio.timeout(self.config.dedupe_timeout)

    async def _dedupe_get(self, key: tuple[str, str]) -> bytes | None:
        try:
            async with self._dedupe_deadline():
                return await self.dedupe.get(*key)
        except Exception:  # unavailable: process it; the deterministic event id protects the worker
            self.hooks.failure("dedupe_get")
            return None

    def _ack(self, msg: Hl7Message | None, fields: Any, issues: list[Hl7Issue], *,
             warnings: Any = (), application: bool = False) -> Ack:
        return build_ack(msg, fields, issues, now=self.clock(), local_application=self.config.local_application,
                         local_facility=self.config.local_facility, warnings=warnings, application=application)

    # ------------------------------------------------------------------ JSON (HTTP ingest)

    async def handle_json(self, body: bytes, received_at: datetime | None = None,
                          source: str = "http") -> JsonResult:
        """A JSON ADT event in, a JSON status out (same durability and duplicate rules)."""
        started = time.perf_counter()
        trigger, result = "unknown", None
        try:
            event = adt_event_from_json(body, received_at=received_at or self.clock(),
                                        default_tz=self.config.default_tz, source=f"{source}:json")
        except InvalidEvent as exc:
            ok = await self._dead_letter(body, exc.reason, DATA_TYPE_ERROR)
            if ok:
                self.quirks.record(UNIDENTIFIED, "refused", issues=[error(DATA_TYPE_ERROR, "JSON body refused")])
            result = (JsonResult("rejected", 422, detail=exc.reason) if ok
                      else JsonResult("error", 503, detail=RETRY_TEXT))
        if result is None:
            trigger = _bounded(event.trigger)
            event_id = str(event.event_id)
            accepted = JsonResult("accepted", 202, event_id)
            status, _ = await self._write_once(
                (event.sending_facility, "json:" + event.message_control_id), event, body, accepted.body())
            if status != "failed":
                self.quirks.record(event.sending_facility, "accepted" if status == "accepted" else "duplicate")
            result = {"accepted": accepted, "duplicate": JsonResult("duplicate", 200, event_id),
                      "failed": JsonResult("error", 503, event_id, RETRY_TEXT)}[status]
        self.hooks.message(trigger, {"accepted": "AA", "duplicate": "AA", "rejected": "AE"}.get(result.status, "AE"),
                           time.perf_counter() - started)
        return result


def refused_too_large(limit: int) -> Hl7Issue:
    return reject(APPLICATION_INTERNAL_ERROR, f"the message is larger than the {limit} bytes this interface accepts")


def refused_truncated(reason: str) -> Hl7Issue:
    return reject(SEGMENT_SEQUENCE, f"the MLLP frame was cut short ({reason} before the end block)")
