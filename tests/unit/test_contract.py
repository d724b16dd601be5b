"""The event contract: every registry example validates, the wire format round-trips,
bad payloads are refused with a reason, upcasters run before validation."""

from __future__ import annotations

import json
import uuid

import pytest

from shared import codec
from shared.errors import InvalidEvent
from shared.events import EVENT_CLASSES, MODELS, AdtEventV1, MemberRosterV1, derive_id
from shared.topics import registry

EXAMPLES = [
    (spec.name, ev.event_type, ex)
    for spec in registry().values()
    for ev in spec.events
    for ex in ev.examples
]


@pytest.mark.parametrize("topic,event_type,example", EXAMPLES, ids=[f"{t}:{e}" for t, e, _ in EXAMPLES])
def test_registry_example_validates_against_its_model(topic, event_type, example):
    cls = MODELS[(example["event_type"], example["schema_version"])]
    event = cls.model_validate(example)
    assert event.event_type == event_type
    assert cls.TOPIC == topic, f"{cls.__name__} declares topic {cls.TOPIC}, registry puts it on {topic}"


def test_every_model_has_an_example_in_the_registry():
    covered = {(e["event_type"], e["schema_version"]) for _, _, e in EXAMPLES}
    missing = {k for k in MODELS if k not in covered}
    assert not missing, f"event types without a registry example: {sorted(missing)}"


def test_every_input_topic_has_a_dead_letter_twin():
    reg = registry()
    for name, spec in reg.items():
        if not spec.is_dlq:
            assert spec.dlq in reg and reg[spec.dlq].is_dlq


def test_roster_is_compacted_and_keyed_by_member():
    spec = registry()["members.roster"]
    assert spec.cleanup_policy == "compact"
    assert spec.config()["cleanup.policy"] == "compact"


def test_encode_decode_round_trip_with_headers():
    example = next(e for _, t, e in EXAMPLES if t == "adt.message")
    event = AdtEventV1.model_validate(example)
    key, value, headers = codec.encode(event)
    assert key == b"MERCY|100234"
    assert dict(headers)["event_type"] == b"adt.message"
    assert dict(headers)["schema_version"] == b"1"
    decoded = codec.decode(value, headers)  # upcast to the latest version (adt.message v2)
    assert decoded.schema_version == 2 and decoded.model_dump(include=set(AdtEventV1.model_fields) - {"schema_version"}) \
        == event.model_dump(exclude={"schema_version"})


def test_models_are_frozen_and_forbid_unknown_fields():
    example = dict(next(e for _, t, e in EXAMPLES if t == "roster.member"))
    member = MemberRosterV1.model_validate(example)
    with pytest.raises(Exception):
        member.risk_tier = "low"  # type: ignore[misc]
    with pytest.raises(InvalidEvent, match="surprise"):
        codec.decode(json.dumps({**example, "surprise": 1}))


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"event_type": "nope", "schema_version": 1}', "unknown event_type"),
        (b'{"hello": 1}', "no event_type"),
        (None, "empty"),
    ],
)
def test_decode_refuses_bad_bodies_with_a_reason(body, reason):
    with pytest.raises(InvalidEvent, match=reason):
        codec.decode(body)


def test_validation_reason_does_not_echo_values():
    example = dict(next(e for _, t, e in EXAMPLES if t == "roster.member"))
    example["birth_date"] = "not-a-date-Ada"
    with pytest.raises(InvalidEvent) as err:
        codec.decode(json.dumps(example))
    assert "birth_date" in err.value.reason
    assert "Ada" not in err.value.reason


def test_header_type_must_agree_with_body():
    example = next(e for _, t, e in EXAMPLES if t == "roster.member")
    with pytest.raises(InvalidEvent, match="disagrees"):
        codec.decode(json.dumps(example), [("event_type", b"adt.message")])


def test_upcaster_runs_before_validation(monkeypatch):
    example = dict(next(e for _, t, e in EXAMPLES if t == "roster.member"))
    # Pretend v1 of roster.member is an older shape with "tier" instead of "risk_tier".
    old = {**example, "schema_version": 0, "tier": example["risk_tier"]}
    del old["risk_tier"]
    monkeypatch.setitem(codec.LATEST, "roster.member", 1)

    def v0_to_v1(p):
        p["risk_tier"] = p.pop("tier")
        p["schema_version"] = 1
        return p

    monkeypatch.setitem(codec.UPCASTERS, ("roster.member", 0), v0_to_v1)
    event = codec.decode(json.dumps(old))
    assert isinstance(event, MemberRosterV1) and event.risk_tier == example["risk_tier"]


def test_newer_version_than_known_is_invalid_not_crash():
    example = dict(next(e for _, t, e in EXAMPLES if t == "roster.member"))
    with pytest.raises(InvalidEvent, match="newer"):
        codec.decode(json.dumps({**example, "schema_version": 99}))


def test_derived_ids_are_deterministic_and_distinct_per_kind():
    cause = uuid.uuid4()
    assert derive_id(cause, "alert") == derive_id(cause, "alert")
    assert derive_id(cause, "alert") != derive_id(cause, "transition")
    assert derive_id("claim:CLM1", "x") == derive_id("claim:CLM1", "x")


def test_every_event_class_names_its_topic():
    names = set(registry())
    for cls in EVENT_CLASSES:
        assert cls.TOPIC in names, cls.__name__


def test_headers_of_the_latest_version_decode_the_same_event_as_the_body_alone():
    for _, event_type, example in EXAMPLES:
        key, value, headers = codec.encode(codec.decode(json.dumps(example)))
        assert codec.decode(value, headers) == codec.decode(value), event_type


def test_body_older_than_its_headers_is_still_upcast(monkeypatch):
    example = dict(next(e for _, t, e in EXAMPLES if t == "roster.member"))
    old = {**example, "schema_version": 0, "tier": example["risk_tier"]}
    del old["risk_tier"]
    monkeypatch.setitem(codec.UPCASTERS, ("roster.member", 0),
                        lambda p: {**{k: v for k, v in p.items() if k != "tier"}, "risk_tier": p["tier"],
                                   "schema_version": 1})
    headers = [("event_type", b"roster.member"), ("schema_version", b"1")]
    event = codec.decode(json.dumps(old), headers)
    assert isinstance(event, MemberRosterV1) and event.risk_tier == example["risk_tier"]


def test_bad_body_under_good_headers_gets_the_precise_reason():
    example = dict(next(e for _, t, e in EXAMPLES if t == "roster.member"), birth_date="not-a-date")
    headers = [("event_type", b"roster.member"), ("schema_version", b"1")]
    with pytest.raises(InvalidEvent, match="birth_date"):
        codec.decode(json.dumps(example), headers)
    with pytest.raises(InvalidEvent, match="not JSON"):
        codec.decode(b"{not json", headers)
