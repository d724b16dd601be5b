"""Property (issue 12): a valid ADT message with any noise in its optional fields — lengths,
explicit nulls, unknown codes, Z-segments, separators, whitespace, repetitions, odd times — is
always accepted, through the whole ACK path (gateway, ACK, event contract)."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.admissions.domain.hl7_reader import Hl7Message
from services.admissions.mllp.gateway import AdtGateway, GatewayConfig, MemoryDedupeStore
from services.admissions.mllp.hooks import Counters

from .builders import TZ

DELIMS = set("|^~\\&\r\n")
text = st.text(alphabet=st.characters(blacklist_characters=list(DELIMS), blacklist_categories=("Cs", "Cc")),
               max_size=120)
noise = st.one_of(text, st.just('""'), st.just(""), st.text(alphabet="0123456789", min_size=1, max_size=20))
code = st.one_of(st.sampled_from(["I", "E", "O", "P", "DAY CASE", "ff", "Inpatient", '""', ""]), text)
stamp = st.one_of(st.sampled_from(["", '""', "2026", "202603", "20260302", "2026030214", "202603021405",
                                   "20260302140500.1234-0500", "20261301", "yesterday"]), text)
identifier = st.tuples(st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=90),
                       st.one_of(st.just(""), text),
                       st.one_of(st.just(""), text).filter(lambda t: t.strip().upper() != "MR"))


@st.composite
def messages(draw):
    trigger = draw(st.sampled_from(["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13",
                                    "A28", "A31"]))
    version = draw(st.sampled_from(["2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8",
                                    "2.8.1", "2.8.2", "2.9", ""]))
    facility = draw(st.sampled_from(["MERCY", "MERCY^1.2.840^ISO", "", '""']))
    ids = draw(st.lists(identifier, min_size=0, max_size=20))
    ids.insert(draw(st.integers(0, len(ids))), ("100234", "MERCY", "MR"))  # one usable identifier
    pid3 = "~".join(f"{i}^^^{a}^{t}" for i, a, t in ids)
    pv1 = ["PV1", "1", draw(code), draw(noise), "", "", draw(noise), draw(noise)] + [""] * 11
    pv1 += [draw(noise)] + [""] * 16 + [draw(code)] + [""] * 7 + [draw(stamp), draw(stamp)]
    evn = ["EVN", draw(st.sampled_from([trigger, "", "A01"])), "20260302140500", "", "", "", draw(stamp)]
    segs = [
        f"MSH|^~\\&|EPICADT|{facility}|CCP|CCP|{draw(stamp)}||ADT^{trigger}|C{draw(st.integers(0, 10**9))}|P|{version}"
        f"|||||{draw(st.sampled_from(['', 'ASCII', '8859/1', 'UNICODE UTF-8', 'KLINGON']))}",
        "|".join(evn), f"PID|1||{pid3}||Example^Ada||19580314|F", "|".join(pv1),
    ]
    if draw(st.booleans()):
        segs.append(f"DG1|1||{draw(st.text(alphabet='ABCDEFGHJ0123456789.', min_size=1, max_size=30))}^{draw(text)}"
                    f"^{draw(text)}||20260302|{draw(noise)}")
    segs += [f"Z{draw(st.sampled_from('ABCXYZ'))}{draw(st.integers(0, 9))}|{draw(text)}"
             for _ in range(draw(st.integers(0, 3)))]
    sep = draw(st.sampled_from(["\r", "\n", "\r\n", " \r", "\r\r", "\t\n"]))
    return sep.join(segs) + draw(st.sampled_from(["", "\r", "\r\n", "\n\n  "]))


async def _handle(raw: bytes):
    published = []

    async def publish(event, data):
        published.append(event)

    async def dead_letter(data, reason, code):
        raise AssertionError(f"dead-lettered: {reason}")

    gw = AdtGateway(publish, dead_letter, MemoryDedupeStore(), GatewayConfig(default_tz=TZ), Counters())
    return await gw.handle(raw), published, gw


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_valid_adt_with_optional_field_noise_is_always_accepted(raw):
    result, published, gw = asyncio.run(_handle(raw.encode("utf-8")))
    assert result.ack.code == "AA", [i.describe() for i in result.issues]
    assert len(published) == 1 and gw.hooks.failures["internal"] == 0
    event = published[0]
    assert event.patient_key == "MERCY|100234"
    assert '""' not in set(_values(event.model_dump(exclude={"raw"}))), "the explicit null is never a value"
    assert Hl7Message.parse(result.ack.data).value("MSA", 1) == "AA"


def _values(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _values(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _values(v)
    elif isinstance(node, str):
        yield node
