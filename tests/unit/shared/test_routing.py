"""shared.routing: a routes table is checked against the registry when it is built, and its handler
dispatches each event of a batch, in order, to the use case of its (topic, event type)."""

from __future__ import annotations

import pytest

from shared import topics
from shared.errors import InvalidEvent
from shared.events import AlertRetractedV1, GapClosedV1, GapOpenedV1, MemberRosterV1, TaskLifecycleV1
from shared.routing import Route, Routes
from shared.topics import registry


def example(cls):
    spec = registry()[cls.TOPIC]
    event_type = cls.model_fields["event_type"].default
    data = next(e for e in spec.events if e.event_type == event_type).examples[0]
    return cls.model_validate(data)


class Work:
    def __init__(self, uow, events):
        self.uow, self.seen, self.began_with = uow, [], list(events)

    def finish(self):
        return [f"derived from {len(self.seen)}"]


def opened(event, work):
    work.seen.append(("opened", event.event_id))


def roster(event, work):
    work.seen.append(("roster", event.event_id))


def test_the_handler_dispatches_in_order_through_one_unit_of_work_and_returns_what_finish_derived():
    routes = Routes("test.consumer", [Route(topics.GAPS, GapOpenedV1, opened), Route(topics.ROSTER, MemberRosterV1, roster)],
                    begin=Work)
    works = []

    def begin(uow, events):
        works.append(Work(uow, events))
        return works[-1]

    routes.begin = begin
    a, b = example(MemberRosterV1), example(GapOpenedV1)
    out = routes.handler(lambda session: ("uow over", session))("SESSION", [a, b])
    (work,) = works
    assert work.uow == ("uow over", "SESSION") and work.began_with == [a, b]
    assert work.seen == [("roster", a.event_id), ("opened", b.event_id)]
    assert out == ["derived from 2"]
    assert routes.topics() == (topics.GAPS, topics.ROSTER)
    assert set(routes.events()) == {GapOpenedV1, MemberRosterV1}


def test_an_event_without_a_route_is_invalid_input():
    routes = Routes("test.consumer", [Route(topics.GAPS, GapOpenedV1, opened)], begin=Work)
    with pytest.raises(InvalidEvent, match="no route for 'gap.closed'"):
        routes.route_for(example(GapClosedV1))


def test_a_later_version_that_extends_the_routed_one_goes_to_its_route():
    from shared.events import ClaimV1, ClaimV2

    routes = Routes("test.consumer", [Route(topics.CLAIMS, ClaimV1, opened)], begin=Work)
    lifted = ClaimV2.model_validate({**example(ClaimV1).model_dump(mode="json"), "schema_version": 2})
    assert routes.route_for(lifted).use_case is opened, "the codec lifts every v1 claim to ClaimV2"


@pytest.mark.parametrize("topic, event, why", [
    ("gaps.event", GapOpenedV1, "not a topic of the registry"),
    (topics.GAPS + ".dlq", GapOpenedV1, "not a topic of the registry"),
    (topics.CLAIMS, GapOpenedV1, "is published on 'gaps.events'"),
    (topics.TASKS, AlertRetractedV1, "is published on 'alerts.hospitalist'"),
])
def test_a_route_the_registry_contradicts_is_refused(topic, event, why):
    with pytest.raises(ValueError, match=why):
        Route(topic, event, opened)


def test_two_routes_for_one_event_type_are_refused():
    with pytest.raises(ValueError, match="two routes"):
        Routes("c", [Route(topics.TASKS, TaskLifecycleV1, opened), Route(topics.TASKS, TaskLifecycleV1, roster)],
               begin=Work)


def test_table_names_each_route_for_people():
    routes = Routes("c", [Route(topics.GAPS, GapOpenedV1, opened)], begin=Work)
    assert routes.table() == [("gaps.events", "gap.opened", f"{__name__}.opened")]
