"""The routes table: (topic, event type) → use case, one hop from a topic name to its code.

A converted service declares in its ``routes.py``::

    ROUTES = Routes("outreach.tasks", [
        Route(topics.GAPS, GapOpenedV1, handlers.gap_opened),
        Route(topics.ROSTER, MemberRosterV1, handlers.roster_snapshot),
        ...
    ])

and its worker runs it through the one consumer pipeline (``shared.consumer.BatchConsumer.for_routes``,
``shared.faust_app.consume``), giving the wiring the table does not hold: ``unit_of_work(session)``
(the service's adapter) and ``begin(uow, events)`` (the application's batch working set, with its
configuration bound). A batch's new events (after the ``processed_events`` dedupe, in one
transaction) are handed to ``begin``, which loads what the batch needs in a few queries; each
event then goes, in order, to the use case of its route, ``use_case(event, work)``;
``work.finish()`` writes the batch and returns the events it derived, which the pipeline writes
to Kafka (confirmed) before the commit.
(cosmicpython's handlers table and unit of work, with a batch instead of one message.)

The table is checked when it is built: every route's topic is in the registry, carries that
event type (``shared/contract/topics.yaml``) and is the event model's own topic; one route per
(topic, event type). ``tests/unit/shared/test_topic_registry.py`` checks the registry's ``consumers:``
against every service's table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import InvalidEvent
from .events import Event
from .topics import registry


class BatchWork(Protocol):
    """The working set of one batch (an application object of the service)."""

    def finish(self) -> Sequence[Event]:
        """Write the batch through its unit of work; return the derived events to publish."""


UseCase = Callable[[Any, Any], None]  # use_case(event, work)
Begin = Callable[[Any, Sequence[Event]], BatchWork]  # begin(uow, events) -> work


def event_type_of(cls: type[Event]) -> str:
    return cls.model_fields["event_type"].default


@dataclass(frozen=True)
class Route:
    topic: str  # registry name (a ``shared.topics`` constant), never prefixed
    event: type[Event]
    use_case: UseCase

    def __post_init__(self) -> None:
        spec = registry().get(self.topic)
        if spec is None or spec.is_dlq:
            raise ValueError(f"route for {self.event.__name__}: {self.topic!r} is not a topic of the registry")
        if self.event.TOPIC != self.topic:
            raise ValueError(f"route for {self.event.__name__}: the event is published on "
                             f"{self.event.TOPIC!r}, not {self.topic!r}")
        if event_type_of(self.event) not in {e.event_type for e in spec.events}:
            raise ValueError(f"route for {self.event.__name__}: the registry lists no "
                             f"{event_type_of(self.event)!r} on {self.topic!r}")

    @property
    def event_type(self) -> str:
        return event_type_of(self.event)


class Routes:
    """One consumer's table. ``consumer`` names its consumer group and its ``processed_events`` rows."""

    def __init__(self, consumer: str, routes: Iterable[Route], *, begin: Begin | None = None) -> None:
        self.consumer = consumer
        self.routes = tuple(routes)
        self.begin = begin
        self._by_event: dict[type[Event], Route] = {}
        for route in self.routes:
            if route.event in self._by_event:
                raise ValueError(f"{consumer}: two routes for ({route.topic}, {route.event_type})")
            self._by_event[route.event] = route
        if not self.routes:
            raise ValueError(f"{consumer}: a routes table needs at least one route")

    def topics(self) -> tuple[str, ...]:
        """The topics to subscribe to, in the table's order."""
        return tuple(dict.fromkeys(r.topic for r in self.routes))

    def events(self) -> tuple[type[Event], ...]:
        """The event models the consumer accepts (anything else on its topics is dead-lettered)."""
        return tuple(self._by_event)

    def route_for(self, event: Event) -> Route:
        """The event's route, or its nearest base's: a later version of an event that subclasses the
        earlier one (``ClaimV2(ClaimV1)``; the codec lifts v1 payloads to it) goes where the earlier went."""
        for cls in type(event).__mro__:
            route = self._by_event.get(cls)
            if route is not None:
                return route
        raise InvalidEvent(f"{self.consumer} has no route for {event.event_type!r}")

    def table(self) -> list[tuple[str, str, str]]:
        """(topic, event type, use case) rows, for documentation and tests."""
        return [(r.topic, r.event_type, f"{r.use_case.__module__}.{r.use_case.__qualname__}") for r in self.routes]

    def handler(self, unit_of_work: Callable[[Any], Any], begin: Begin | None = None
                ) -> Callable[[Any, list[Event]], list[Event]]:
        """The batch handler the consumer pipeline runs inside its transaction:
        ``unit_of_work(session)`` is the service's adapter (repositories over that session),
        ``begin(uow, events)`` the batch's working set (default: the table's own ``begin``)."""
        start = begin or self.begin
        if start is None:
            raise ValueError(f"{self.consumer}: no begin(uow, events) for the batch's working set")

        def handle(session: Any, events: list[Event]) -> list[Event]:
            work = start(unit_of_work(session), events)
            for event in events:
                self.route_for(event).use_case(event, work)
            return list(work.finish())

        handle.__qualname__ = f"Routes({self.consumer}).handler"
        return handle
