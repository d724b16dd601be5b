"""At-least-once delivery: a redelivered event must change nothing, and a replay from the
topics must rebuild the same tasks and the same lifecycle events."""

from datetime import timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.outreach.domain import lifecycle_event

from .builders import (
    T0, Consumer, claim, eid, gap_closed, gap_excluded, gap_opened, readmission, roster, transition,
    transition_cancelled,
)

MEASURES = st.sampled_from(["CMS130", "CMS122"])
DIAGNOSES = st.sampled_from([(), ("Z590",), ("E6601",), ("E119",), ("I10", "E669")])
SPECS = st.one_of(
    st.tuples(st.just("gap_opened"), MEASURES),
    st.tuples(st.just("gap_closed"), MEASURES),
    st.tuples(st.just("gap_excluded"), MEASURES),
    st.tuples(st.just("transition"), st.tuples(st.sampled_from([1, 2]), st.booleans(), DIAGNOSES)),
    st.tuples(st.just("transition_cancelled"), st.sampled_from([1, 2])),
    st.tuples(st.just("readmission"), st.tuples(st.sampled_from([1, 2]), st.booleans())),
    st.tuples(st.just("claim"), DIAGNOSES),
    st.tuples(st.just("roster"), st.tuples(st.sampled_from(["active", "termed"]),
                                           st.sampled_from(["pod-east", "pod-west"]))),
)


def build(specs):
    """Events of one member in topic order: distinct ids, event time moving forward 10 days a step."""
    events = []
    for i, (kind, arg) in enumerate(specs):
        common = dict(event_id=eid(f"seq:{i}"), at=T0 + timedelta(days=10 * i))
        if kind == "gap_opened":
            events.append(gap_opened(arg, **common))
        elif kind == "gap_closed":
            events.append(gap_closed(arg, **common))
        elif kind == "gap_excluded":
            events.append(gap_excluded(arg, **common))
        elif kind == "transition":
            tid, readmit, dx = arg
            events.append(transition(transition_id=eid(f"t{tid}"), readmission=readmit, diagnoses=dx, **common))
        elif kind == "transition_cancelled":
            events.append(transition_cancelled(transition_id=eid(f"t{arg}"), **common))
        elif kind == "readmission":
            rid, retracted = arg
            events.append(readmission(readmission_id=eid(f"r{rid}"), retracted=retracted, **common))
        elif kind == "claim":
            events.append(claim(arg, claim_id=f"CLM-{i}", **common))
        else:
            status, pod = arg
            events.append(roster(status=status, pod=pod, **common))
    return events


sequences = st.lists(SPECS, min_size=1, max_size=14).map(build)


@settings(max_examples=150, deadline=None)
@given(sequences)
def test_each_event_delivered_twice_equals_once(events):
    once = Consumer().feed_all(events)
    twice = Consumer()
    for event in events:
        twice.feed(event)
        assert twice.feed(event) == []
    assert twice.tasks == once.tasks


@settings(max_examples=300, deadline=None)
@given(sequences)
@example(build([("transition", (1, False, ())), ("readmission", (1, False)), ("readmission", (1, True))]))
@example(build([("roster", ("termed", "pod-east")), ("roster", ("active", "pod-east")), ("gap_opened", "CMS130")]))
def test_a_sequence_applied_twice_equals_applied_once(events):
    """The second pass is the whole topic redelivered. Events that changed a task are
    recognised by the task itself; the processed-events table (the wiring's) only has to
    stop those that changed nothing — and that is all this consumer remembers."""
    c = Consumer()
    changed_nothing = set()
    for event in events:
        if not c.feed(event):
            changed_nothing.add(event.event_id)
    after_once = dict(c.tasks)
    for event in events:
        if event.event_id not in changed_nothing:
            assert c.feed(event) == [], event.event_type
    assert c.tasks == after_once


@settings(max_examples=100, deadline=None)
@given(sequences)
def test_a_replay_rebuilds_the_same_tasks_and_lifecycle_events(events):
    first, second = Consumer().feed_all(events), Consumer().feed_all(events)
    assert first.tasks == second.tasks

    def published(c):
        return [lifecycle_event(i.task, i.transition).model_dump() for i in c.log if i.transition is not None]

    assert published(first) == published(second)
    ids = [e["event_id"] for e in published(first)]
    assert len(ids) == len(set(ids))  # every transition has its own event id


@settings(max_examples=100, deadline=None)
@given(sequences)
def test_never_two_open_tasks_for_one_key(events):
    c = Consumer().feed_all(events)
    keys = [t.key for t in c.open_tasks()]
    assert len(keys) == len(set(keys))
