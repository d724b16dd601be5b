"""Poison messages on a topic: ``shared.codec.decode`` must turn any bytes into an event or an
``InvalidEvent`` (which ``BatchConsumer`` dead-letters). Anything else makes the consumer exit
without committing, and it meets the same message again after every restart."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.codec import decode, encode
from shared.errors import InvalidEvent
from tests.unit.admissions.builders import adt, roster

from .budget import budget
from .corpus import json_values

EVENTS = [adt(), adt("A03", discharge="20260305101500"), roster()]


@st.composite
def damaged_events(draw) -> tuple[bytes, list]:
    _key, value, headers = encode(draw(st.sampled_from(EVENTS)))
    body = json.loads(value)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("set", "drop", "add")))
        if op == "set":
            body[draw(st.sampled_from(sorted(body)))] = draw(json_values)
        elif op == "drop" and body:
            body.pop(draw(st.sampled_from(sorted(body))))
        else:
            body[draw(st.text(max_size=8))] = draw(json_values)
    return json.dumps(body).encode(), (headers if draw(st.booleans()) else None)


poison = st.one_of(damaged_events(), st.tuples(st.binary(max_size=200), st.none()),
                   st.tuples(json_values.map(lambda v: json.dumps(v).encode()), st.none()))


@budget(500)
@given(poison)
def test_any_message_decodes_to_an_event_or_an_invalid_event(message):
    value, headers = message
    try:
        decode(value, headers)
    except InvalidEvent as exc:
        assert exc.reason


@pytest.mark.parametrize("value", [b"[" * 50_000 + b"]" * 50_000, b'{"event_type": ' + b"9" * 5000 + b"}"],
                         ids=["deep-nesting", "huge-integer"])
def test_a_body_that_breaks_the_json_parser_is_an_invalid_event(value):
    with pytest.raises(InvalidEvent):
        decode(value, None)
