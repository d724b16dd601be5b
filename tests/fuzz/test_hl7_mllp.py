"""Bad HL7 and bad MLLP streams: every message gets an answer (ACK or NAK), every refused
message is kept (dead letter with its raw bytes), and nothing raises.

The reader/validator and the ACK builder are pure and run thousands of inputs a second; the
gateway runs with in-memory publish / dead-letter / dedupe; the listener runs in process on
a loopback socket.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.admissions.domain.ack import build_ack
from services.admissions.domain.adt_event import to_adt_event
from services.admissions.domain.hl7_reader import Hl7Message
from services.admissions.domain.validation import inspect
from services.admissions.mllp.framing import END, START, Frame, Junk, MllpDecoder, Oversized, Truncated, frame
from services.admissions.mllp.gateway import (
    AdtGateway, GatewayConfig, MemoryDedupeStore, refused_too_large, refused_truncated,
)
from services.admissions.mllp.hooks import Counters
from services.admissions.mllp.server import MllpServer
from tests.unit.admissions.builders import TZ

from .budget import budget
from .corpus import hl7_bytes, json_object_like, json_values, seed_adt_json

NOW = datetime(2026, 3, 2, 19, 5, 1, tzinfo=timezone.utc)
ACK_CODES = {"AA", "AE", "AR", "CA", "CE", "CR"}


def answer_of(data: bytes):
    """What the ACK path does with one message: read, validate, map, build the ACK."""
    ins = inspect(data, TZ)
    issues = list(ins.issues)
    event = None
    if ins.ok:
        event, issues = to_adt_event(ins.fields, raw=ins.message.text, received_at=NOW, source="mllp:fuzz",
                                     assessment=ins.assessment)
        assert (event is None) == bool(issues)
    return ins, event, build_ack(ins.message, ins.fields, issues, now=NOW)


def check_ack(data: bytes) -> None:
    ins, event, ack = answer_of(data)
    assert ack.code in ACK_CODES
    assert ack.accepted == (event is not None)
    # the sender must be able to read our answer (written in the encoding of its message)
    parsed = Hl7Message.parse(ack.data.decode(ins.message.encoding) if ins.message is not None else ack.data)
    assert parsed.value("MSA", 1) == ack.code
    if ins.message is not None:
        # MSA-2 echoes MSH-10 byte for byte. Read on the wire: the reader trims whitespace at a
        # segment's ends (real feeds pad them), which would eat a control id of only whitespace.
        msa = next(s for s in ack.text.split("\r") if s.startswith("MSA"))
        assert msa.split(ins.message.field_sep)[2] == ins.message.field("MSH", 10)
    if not ack.accepted:
        assert parsed.has("ERR") and ack.code != "AA"


@budget(600)
@given(hl7_bytes)
def test_every_hl7_input_gets_a_readable_ack_or_nak(data):
    check_ack(data)


@pytest.mark.slow
@budget(20_000, randomize=True)
@given(hl7_bytes)
def test_every_hl7_input_gets_a_readable_ack_or_nak_long(data):
    check_ack(data)


# ---------------------------------------------------------------------------- gateway

class Feed:
    def __init__(self) -> None:
        self.published: list = []
        self.dead: list[tuple[bytes, str, int]] = []

    async def publish(self, event, raw):
        self.published.append((event, raw))

    async def dead_letter(self, raw, reason, code):
        self.dead.append((raw, reason, code))


def gateway(feed: Feed) -> AdtGateway:
    return AdtGateway(feed.publish, feed.dead_letter, MemoryDedupeStore(), GatewayConfig(default_tz=TZ), Counters())


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


@budget(300)
@given(st.lists(hl7_bytes, min_size=1, max_size=4))
def test_the_gateway_answers_every_message_and_keeps_what_it_refuses(messages):
    feed = Feed()
    gw = gateway(feed)

    async def go():
        return [await gw.handle(m) for m in messages]

    results = run(go())
    assert gw.hooks.failures["internal"] == 0, "a message hit an unexpected exception (answered AE 207)"
    kept = {raw for raw, _, _ in feed.dead} | {raw for _, raw in feed.published}
    for data, r in zip(messages, results, strict=True):
        if r.answer.accepted:  # the application ACK carries the verdict when MSH-16 asked for one
            assert r.duplicate or r.event is not None
        else:
            assert r.issues, "a NAK without a reason"
            assert any(raw == data for raw, _, _ in feed.dead), "a refused message was not dead-lettered"
        assert data in kept or r.duplicate
    for _raw, reason, code in feed.dead:
        assert reason and 100 <= code <= 207


@budget(200)
@given(hl7_bytes, st.sampled_from(("cut", "large")))
def test_frames_refused_before_reading_get_a_nak_and_a_dead_letter(data, why):
    feed = Feed()
    gw = gateway(feed)
    issue = refused_truncated("next start block") if why == "cut" else refused_too_large(1024)
    r = run(gw.refuse(data, issue))
    assert not r.answer.accepted and Hl7Message.parse(r.answer.data).value("MSA", 1) in ("AR", "AE", "CR")
    assert [raw for raw, _, _ in feed.dead] == [data]


json_adt_bodies = st.one_of(
    json_object_like(json.loads(seed_adt_json()[0])).map(lambda o: json.dumps(o).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@budget(300)
@given(json_adt_bodies)
def test_json_adt_bodies_are_accepted_or_rejected_and_kept(body):
    feed = Feed()
    r = run(gateway(feed).handle_json(body))
    assert r.status in ("accepted", "duplicate", "rejected") and r.http_status in (200, 202, 422)
    if r.status == "rejected":
        assert r.detail and [raw for raw, _, _ in feed.dead] == [body]
    else:
        assert len(feed.published) == 1


@pytest.mark.parametrize("body", [b"[" * 50_000 + b"]" * 50_000, b'{"trigger": ' + b"9" * 5000 + b"}"],
                         ids=["deep-nesting", "huge-integer"])
def test_json_adt_bodies_that_break_the_json_parser_are_rejected(body):
    feed = Feed()
    r = run(gateway(feed).handle_json(body))
    assert r.status == "rejected" and feed.dead


# ---------------------------------------------------------------------------- MLLP framing

stream_parts = st.lists(st.one_of(
    hl7_bytes.map(frame),                                     # a framed message
    hl7_bytes.map(lambda b: b"\x0b" + b),                     # a start block and no end
    st.binary(max_size=40),                                   # noise between frames
    st.sampled_from([b"\r\n", b"\x1c", b"\x1c\r", b"\x0b", b"\r", b""]),
), max_size=8).map(b"".join)


def decode_all(data: bytes, cuts: list[int], max_frame: int = 1 << 20) -> list:
    dec = MllpDecoder(max_frame, keep_head=64)
    events, last = [], 0
    for c in sorted(set(cuts)) + [len(data)]:
        events += dec.feed(data[last:c])
        last = c
    return events + dec.eof()


def merged(events: list) -> list:
    """Adjacent junk joined (chunk boundaries may split it)."""
    out: list = []
    for e in events:
        if isinstance(e, Junk) and out and isinstance(out[-1], Junk):
            out[-1] = Junk(out[-1].data + e.data)
        else:
            out.append(e)
    return out


def covers(events: list, data: bytes) -> bool:
    """The events, laid end to end with their blocks, are ``data`` (a CR after an end block is
    consumed with it)."""
    pos = 0
    for e in events:
        if isinstance(e, Junk):
            piece = e.data
        elif isinstance(e, Frame):
            piece = bytes([START]) + e.payload + bytes([END])
        elif isinstance(e, Truncated):
            piece = bytes([START]) + e.payload
        else:
            raise AssertionError(f"unexpected {e!r}")
        if data[pos:pos + len(piece)] != piece:
            return False
        pos += len(piece)
        if isinstance(e, Frame) and data[pos:pos + 1] == b"\r":
            pos += 1
    return pos == len(data)


@budget(500)
@given(stream_parts, st.lists(st.integers(0, 3000), max_size=6))
def test_the_decoder_loses_no_byte_and_ignores_how_the_stream_is_chunked(data, cuts):
    whole = merged(decode_all(data, []))
    assert merged(decode_all(data, [c % (len(data) + 1) for c in cuts])) == whole
    # every byte is in a frame, a cut-short frame or junk (the CR after an end block excepted)
    assert covers(whole, data)


@budget(200)
@given(stream_parts, st.integers(1, 200))
def test_oversized_frames_are_reported_with_their_size(data, limit):
    events = decode_all(data, [], max_frame=limit)
    payload = sum(len(e.payload) for e in events if isinstance(e, (Frame, Truncated)))
    payload += sum(e.size for e in events if isinstance(e, Oversized))
    junk = sum(len(e.data) for e in events if isinstance(e, Junk))
    starts = sum(1 for e in events if not isinstance(e, Junk))
    ends = sum(1 for e in events if isinstance(e, Frame) or (isinstance(e, Oversized) and e.ended))
    swallowed = len(data) - (payload + junk + starts + ends)
    assert 0 <= swallowed <= ends  # at most one CR after each end block
    assert all(len(e.payload) <= limit for e in events if isinstance(e, (Frame, Truncated)))


# ---------------------------------------------------------------------------- the listener

async def _exchange(data: bytes, chunk: int) -> tuple[list[bytes], Feed, Counters]:
    feed = Feed()
    gw = gateway(feed)
    server = MllpServer(gw, host="127.0.0.1", port=0, idle_timeout=5, max_frame_bytes=4096)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for i in range(0, len(data), chunk):
            writer.write(data[i:i + chunk])
            await writer.drain()
        writer.write_eof()
        received = b""
        while chunk_in := await asyncio.wait_for(reader.read(65536), 10):
            received += chunk_in
        writer.close()
        acks = [e.payload for e in MllpDecoder(1 << 24).feed(received) if isinstance(e, Frame)]
        # the server answers a connection's frames in order; a second connection proves it still serves
        r2, w2 = await asyncio.open_connection("127.0.0.1", server.port)
        w2.close()
        await w2.wait_closed()
        del r2
    finally:
        await server.close(grace=2)
    return acks, feed, gw.hooks


JUNK_REASON = "bytes received outside an MLLP frame"
WHITESPACE = frozenset(b" \t\n\r\x0b\x0c")


def _visible(data: bytes) -> bytes:
    return bytes(b for b in data if b not in WHITESPACE)


async def _expected(events: list) -> tuple[int, int]:
    """(answers sent, frames kept) when the same frames go through a gateway directly."""
    feed = Feed()
    gw = gateway(feed)
    sent = 0
    for e in events:
        if isinstance(e, Frame):
            r = await gw.handle(e.payload)
        elif isinstance(e, Oversized):
            r = await gw.refuse(e.head, refused_too_large(4096))
        elif isinstance(e, Truncated):
            r = await gw.refuse(e.payload, refused_truncated(e.reason))
        else:
            continue
        answerable = isinstance(e, Frame) or (isinstance(e, Oversized) and e.ended) \
            or (isinstance(e, Truncated) and e.reason == "next start block")
        sent += len(r.replies()) if answerable else 0
    return sent, len(feed.published) + len(feed.dead) + gw.hooks.duplicates


@budget(40)
@given(stream_parts, st.integers(1, 700))
def test_the_listener_answers_every_frame_in_order_and_keeps_every_message(data, chunk):
    acks, feed, hooks = asyncio.run(asyncio.wait_for(_exchange(data, chunk), 30))
    events = decode_all(data, [], max_frame=4096)
    sent, kept = asyncio.run(_expected(events))
    assert len(acks) == sent
    for ack in acks:
        assert Hl7Message.parse(ack).value("MSA", 1) in ACK_CODES
    assert hooks.failures["internal"] == 0 and hooks.failures["write"] == 0
    # every frame (whole, cut short, too large) was published, dead-lettered or answered as a duplicate
    frame_letters = [raw for raw, reason, _ in feed.dead if reason != JUNK_REASON]
    assert len(feed.published) + len(frame_letters) + hooks.duplicates == kept
    assert kept == sum(1 for e in events if not isinstance(e, Junk))
    # and every visible byte between frames is in a dead letter (TCP may split it into several)
    junk_letters = b"".join(raw for raw, reason, _ in feed.dead if reason == JUNK_REASON)
    assert _visible(junk_letters) == _visible(b"".join(e.data for e in events if isinstance(e, Junk)))


def test_a_nak_never_repeats_patient_data_that_landed_in_a_header_field():
    msg = b"MSH|^~\\&|EPIC|MERCY|CCP|CCP|20260302140500||ADT^A01|100234|19580314|F\rPID|1||100234^^^MERCY^MR\rPV1|1|I"
    ins, _event, ack = answer_of(msg)
    assert not ack.accepted
    reasons = " ".join(i.describe() for i in ins.issues)
    assert "19580314" not in reasons and b"19580314" not in ack.data.split(b"\rMSA")[1]
