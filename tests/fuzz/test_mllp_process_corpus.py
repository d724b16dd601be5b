"""The bad-input corpus through the real ``mllp`` process, the real broker and PostgreSQL:
every frame is answered, every accepted message is on ``adt.events`` (once per sending
facility and MSH-10), every refused one is on ``adt.events.dlq`` with its raw bytes."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given
from hypothesis import strategies as st

from services.admissions.domain.adt_event import adt_event_id
from services.admissions.domain.hl7_reader import Hl7Message
from services.admissions.mllp.gateway import AdtGateway, GatewayConfig, MemoryDedupeStore
from services.admissions.mllp.hooks import Counters
from tests.unit.admissions.builders import TZ
from tests.integration.admissions.conftest import END, START, MllpConn, admissions  # noqa: F401 - fixture
from tests.support.procs import read_topic

from .budget import budget
from .corpus import hl7_bytes
from .test_hl7_mllp import answer_of

payloads = hl7_bytes.map(lambda b: b.replace(b"\x0b", b" ").replace(b"\x1c", b" "))


def roundtrip(conn: MllpConn, data: bytes, answers: int = 1) -> bytes:
    """Send one frame, return the last of its ``answers`` ACK frames (the one with the verdict: the
    application ACK when MSH-16 asked for one), in the encoding of the message it answers."""
    conn.send(START + data + END)
    frame = b""
    for _ in range(answers):
        while END not in conn.buf:
            chunk = conn.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the listener")
            conn.buf += chunk
        frame, _, conn.buf = conn.buf.partition(END)
    return frame[frame.index(START) + 1:]


def expected_answers(data: bytes) -> int:
    """How many frames the listener sends back for ``data`` (0, 1, or 2 with an application ACK)."""
    async def go():
        async def ok(*_):
            return None
        gw = AdtGateway(ok, ok, MemoryDedupeStore(), GatewayConfig(default_tz=TZ), Counters())
        return len((await gw.handle(data)).replies())
    return asyncio.run(go())


def test_every_frame_is_answered_and_kept_by_the_mllp_process(admissions):  # noqa: F811 - the fixture
    proc, ports = admissions.start("mllp")
    conn = MllpConn(ports["MLLP_PORT"])
    accepted: set[str] = set()
    refused: list[bytes] = []
    answered = 0

    @budget(60)
    @given(st.lists(payloads, min_size=1, max_size=4))
    def send(messages):
        nonlocal answered
        for data in messages:
            ins, _event, local = answer_of(data)
            answers = expected_answers(data)
            if not answers:
                continue  # MSH-15/16 ask for no answer: nothing to wait for
            raw_ack = roundtrip(conn, data, answers)
            answered += 1
            ack = Hl7Message.parse(raw_ack.decode(ins.message.encoding) if ins.message is not None else raw_ack)
            code = ack.value("MSA", 1)
            assert code in ("AA", "AE", "AR", "CA", "CE", "CR"), raw_ack
            if code in ("AA", "CA"):
                accepted.add(str(adt_event_id(ins.fields.sending_facility, ins.fields.control_id)))
            else:
                assert ack.value("ERR", 3) != "207", f"not stored (Kafka or the dead letter failed): {raw_ack!r}"
                refused.append(data)

    send()
    conn.close()
    assert proc.alive() and proc.healthy(), proc.log()[-3000:]
    print(f"\nmllp process: {answered} frames answered, {len(accepted)} distinct accepted, {len(refused)} refused")
    assert answered
    s = admissions.settings
    events = read_topic(s, s.topic("adt.events"), expect=len(accepted), timeout=30, settle=1.0)
    assert {json.loads(m.value())["event_id"] for m in events} == accepted
    assert len(events) == len(accepted), "an accepted message was published twice"
    dead = read_topic(s, s.topic("adt.events.dlq"), expect=len(refused), timeout=30, settle=1.0)
    assert sorted(m.value() for m in dead) == sorted(refused), "every refused message is kept as received"
    for m in dead:
        assert dict(m.headers()).get("dlq.reason")
