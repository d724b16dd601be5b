"""Roster snapshots, claim versions and care transitions in; gap status changes out: the working
set of one batch (one unit of work, one transaction).

``GapsBatch.starter(evaluator)`` is the ``begin(uow, events)`` the worker gives the routes table.
The use cases (``handlers.py``, one per (topic, event type)) hand it their events in order;
:meth:`GapsBatch.finish` then

1. keeps the inputs: the newest roster snapshot per member (by event time; an older snapshot
   that arrives late is kept out), every claim version and every transition event (an event
   kept already is skipped);
2. re-evaluates only the members the batch touched (``evaluation.Evaluator``);
3. returns the status changes, which the consumer pipeline writes to Kafka (confirmed) before
   the commit.

A member with no roster snapshot yet is not evaluated (its claims wait for the roster). The
cause of a member's gap events is the member's newest event in the batch, so a redelivered
batch derives the same event ids. Readmissions carry nothing for the measures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from shared.errors import InvalidEvent
from shared.events import Event, MemberRosterV1

from .evaluation import Evaluator, gc_paused
from .ports import Cause, UnitOfWork


def _nul_free(event: Event, what: str) -> None:
    """``InvalidEvent`` when a text of the event holds a NUL character (the database cannot keep
    it, and a refusal taken for a passing database error would be retried forever)."""
    text = event.model_dump_json()
    if "\x00" in text or "\\u0000" in text:
        raise InvalidEvent(f"the {what} contains a NUL character, which the database cannot store")


class GapsBatch:
    """One batch of consumed events over one unit of work."""

    def __init__(self, uow: UnitOfWork, evaluator: Evaluator) -> None:
        self.uow = uow
        self.evaluator = evaluator
        self.rosters: list[MemberRosterV1] = []
        self.claims: list[Event] = []
        self.transitions: list[Event] = []
        self.causes: dict[str, Cause] = {}

    @classmethod
    def starter(cls, evaluator: Evaluator) -> Callable[[UnitOfWork, Sequence[Event]], GapsBatch]:
        """``begin(uow, events)`` for the routes table, with the measures bound."""

        def begin(uow: UnitOfWork, _events: Sequence[Event]) -> GapsBatch:
            return cls(uow, evaluator)

        return begin

    # ------------------------------------------------------------------ for the handlers
    def roster(self, event: MemberRosterV1) -> None:
        self.rosters.append(event)
        self._touch(event)

    def claim(self, event: Event) -> None:
        self.claims.append(event)
        self._touch(event)

    def transition(self, event: Event) -> None:
        self.transitions.append(event)
        self._touch(event)

    def _touch(self, event: Event) -> None:
        mid = event.member_id
        key = (event.occurred_at, str(event.event_id))
        if mid and (mid not in self.causes or key > self.causes[mid]):
            self.causes[mid] = key

    # ------------------------------------------------------------------ end of the batch
    def finish(self) -> list[Event]:
        with gc_paused():
            return self._finish()

    def _finish(self) -> list[Event]:
        causes, uow = self.causes, self.uow
        if not causes:
            return []
        now = datetime.now(timezone.utc)
        if any("\x00" in m for m in causes):
            raise InvalidEvent("a member id contains a NUL character, which the database cannot store")
        for r in self.rosters:
            _nul_free(r, "roster snapshot")
        uow.members.lock(causes)
        if self.rosters:
            self._keep_rosters(now)
        if self.claims:
            uow.claims.add(self.claims)
        if self.transitions:
            uow.transitions.add(self.transitions)
        return self.evaluator.evaluate(uow, causes).events

    def _keep_rosters(self, now: datetime) -> None:
        newest: dict[str, MemberRosterV1] = {}
        for ev in self.rosters:
            cur = newest.get(ev.member_id)
            if cur is None or (ev.occurred_at, str(ev.event_id)) > (cur.occurred_at, str(cur.event_id)):
                newest[ev.member_id] = ev
        stored = self.uow.members.stamps(sorted(newest))
        self.uow.members.save([ev for mid, ev in newest.items()
                               if mid not in stored or (ev.occurred_at, str(ev.event_id)) >= stored[mid]], now)
