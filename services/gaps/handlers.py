"""The gaps worker's handler: roster snapshots, claim versions and care transitions in; gap
status changes out. Batch-oriented: one call applies a whole batch in one transaction.

Per batch (``GapsHandler.__call__``):

1. keep the inputs: the newest roster snapshot per member (by event time; an older snapshot
   that arrives late is kept out), every claim version and every transition event (insert,
   ignore duplicates);
2. re-evaluate only the members the batch touched: load their state with a few queries,
   rebuild each claim book (replacements supersede, voids withdraw), evaluate every measure,
   diff with the stored gaps;
3. write the changed gap rows and return the status changes (``GapOpenedV1`` /
   ``GapClosedV1`` / ``GapExcludedV1``), which ``BatchConsumer`` writes to Kafka before the
   commit.

A member with no roster snapshot yet is not evaluated (its claims wait for the roster). The
cause of a member's gap events is the member's newest event in the batch, so event ids are
``derive_id(cause, "gap:<gap key>:<status>")`` (see ``domain.gap_events``).

``Reevaluation`` re-evaluates members in chunks outside the stream (the daily due-soon run
and ``python -m services.gaps reevaluate``), each chunk in its own transaction.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import Database
from shared.errors import InvalidEvent
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, Event, MemberRosterV1, ReadmissionV1, derive_id,
)
from shared.kafka import EventProducer

from . import metrics
from .domain import (
    ClaimBook, CodeSets, TransitionBook, current_claims, diff_statuses, evaluate_member, history_from_claims,
)
from .member_state import bulk_insert_ignore, bulk_upsert, chunks, load_states, lock_members, write_gap_rows
from .settings import GapsSettings
from .store import claim_row, claim_versions, gap_row, member_row, members, transition_events

log = logging.getLogger(__name__)

CONSUMER = "gaps.worker"
INPUT_EVENTS: tuple[type[Event], ...] = (
    MemberRosterV1, ClaimV1, CareTransitionV1, CareTransitionCancelledV1, ReadmissionV1,
)
Cause = tuple[datetime, str]  # (occurred_at, event id) of the event that made us look


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a batch builds its (acyclic) objects.

    A batch makes hundreds of thousands of small objects; with the collector on, each of its
    passes scans the whole growing heap and loading the state took 3-5 times longer
    (measured: 100k claim versions, 4.3 s → 0.9 s). Reference counting still frees everything;
    the collector runs again after the batch."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _storable(row: dict, what: str) -> dict:
    """The row, or ``InvalidEvent`` when a text holds a NUL character: PostgreSQL refuses it, and
    a refusal the consumer takes for a passing database error would be retried forever."""
    for value in row.values():
        if isinstance(value, str) and ("\x00" in value or "\\u0000" in value):
            raise InvalidEvent(f"the {what} contains a NUL character, which the database cannot store")
    return row


@dataclass
class EvaluationOutcome:
    events: list[Event]
    evaluated: int
    changed_rows: int


class GapsHandler:
    """``handler(session, events) -> derived events`` for ``shared.consumer.BatchConsumer``."""

    def __init__(self, settings: GapsSettings, codes: CodeSets, *, today: Callable[[], date] | None = None) -> None:
        self.settings = settings
        self.codes = codes
        self.today = today or settings.today

    # ------------------------------------------------------------------ the stream
    def __call__(self, session: Session, events: list[Event]) -> list[Event]:
        with gc_paused():
            return self._apply(session, events)

    def _apply(self, session: Session, events: list[Event]) -> list[Event]:
        rosters: list[MemberRosterV1] = []
        claims: list[ClaimV1] = []
        transitions: list[Event] = []
        causes: dict[str, Cause] = {}
        for ev in events:
            if isinstance(ev, MemberRosterV1):
                rosters.append(ev)
            elif isinstance(ev, ClaimV1):
                claims.append(ev)
            elif isinstance(ev, (CareTransitionV1, CareTransitionCancelledV1)):
                transitions.append(ev)
            else:
                continue  # readmissions: nothing for the measures
            key = (ev.occurred_at, str(ev.event_id))
            mid = ev.member_id
            if mid and (mid not in causes or key > causes[mid]):
                causes[mid] = key
        if not causes:
            return []
        now = datetime.now(timezone.utc)
        # Everything this batch will store is checked before the first statement runs.
        if any("\x00" in m for m in causes):
            raise InvalidEvent("a member id contains a NUL character, which the database cannot store")
        for r in rosters:
            _storable({"body": r.model_dump_json()}, "roster snapshot")
        claim_rows = [_storable(claim_row(c), "claim") for c in claims]
        transition_rows = [_storable({
            "event_id": str(t.event_id), "member_id": t.member_id, "transition_id": str(t.transition_id),
            "event_type": t.event_type, "occurred_at": t.occurred_at, "body": t.model_dump_json(),
        }, "care transition") for t in transitions]
        lock_members(session, causes)
        if rosters:
            self._keep_rosters(session, rosters, now)
        if claim_rows:
            bulk_insert_ignore(session, claim_versions, claim_rows)
        if transition_rows:
            bulk_insert_ignore(session, transition_events, transition_rows)
        return self.evaluate(session, causes).events

    def _keep_rosters(self, session: Session, rosters: list[MemberRosterV1], now: datetime) -> None:
        newest: dict[str, MemberRosterV1] = {}
        for ev in rosters:
            cur = newest.get(ev.member_id)
            if cur is None or (ev.occurred_at, str(ev.event_id)) > (cur.occurred_at, str(cur.event_id)):
                newest[ev.member_id] = ev
        stored: dict[str, tuple[datetime, str]] = {}
        for part in chunks(sorted(newest)):
            for row in session.execute(select(members.c.member_id, members.c.occurred_at, members.c.event_id)
                                       .where(members.c.member_id.in_(part))):
                stored[row.member_id] = (row.occurred_at, row.event_id)
        rows = [_storable(member_row(ev, now), "roster snapshot") for mid, ev in newest.items()
                if mid not in stored or (ev.occurred_at, str(ev.event_id)) >= stored[mid]]
        bulk_upsert(session, members, rows, ["member_id"])

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, session: Session, causes: dict[str, Cause], *, as_of: date | None = None,
                 span: tuple[str, str] | None = None) -> EvaluationOutcome:
        """Evaluate ``causes``' members; write changed gap rows; return the status changes.
        ``span``: the members are the run of the roster between these ids (see ``load_states``)."""
        with gc_paused():
            return self._evaluate(session, causes, as_of, span)

    def _evaluate(self, session: Session, causes: dict[str, Cause], as_of: date | None,
                  span: tuple[str, str] | None) -> EvaluationOutcome:
        day = as_of or self.today()
        ms = self.settings.measure_settings(day)
        period_start = ms.period.start
        states = load_states(session, causes, period_start, span=span)
        now = datetime.now(timezone.utc)
        out: list[Event] = []
        rows: list[dict] = []
        evaluated = 0
        codes = self.codes
        cause_uuids: dict[str, uuid.UUID] = {}  # a re-evaluation gives every member the same cause
        for mid in sorted(states):
            st = states[mid]
            if st.member is None:
                continue
            book = ClaimBook.from_claims(st.claims)
            history = history_from_claims(current_claims(book), codes)
            if st.transitions:
                tbook = TransitionBook()
                for t in st.transitions:
                    tbook = tbook.apply(t)
                history = history.merged(tbook.history())
            results = evaluate_member(st.member, history, ms, codes)
            evaluated += 1
            occurred_at, cause_id = causes[mid]
            cause_uuid = cause_uuids.get(cause_id)
            if cause_uuid is None:
                cause_uuid = cause_uuids[cause_id] = uuid.UUID(cause_id)
            diff = diff_statuses(st.member, st.gaps, results, cause_event_id=cause_uuid,
                                 occurred_at=occurred_at, recorded_at=now, period_start=period_start,
                                 measures=ms.measures)
            if diff.changed:
                by_key = {r.gap_key(mid): r for r in results}
                for key in diff.changed:
                    rows.append(gap_row(mid, diff.stored[key], by_key.get(key), st.gap_evidence.get(key), cause_id, now))
            out.extend(diff.events)
        write_gap_rows(session, rows)
        metrics.EVALUATIONS.inc(evaluated)
        metrics.count_emitted(out)
        return EvaluationOutcome(out, evaluated, len(rows))


# ---------------------------------------------------------------------- re-evaluation
@dataclass
class ReevaluationReport:
    members: int = 0
    evaluated: int = 0
    events: int = 0
    changed_rows: int = 0
    seconds: float = 0.0
    by_type: dict[str, int] | None = None


def reevaluation_cause(day: date) -> str:
    """One cause per day: re-running the same day's evaluation gives the same event ids."""
    return str(derive_id("gaps.reevaluate", day.isoformat()))


class Reevaluation:
    """Re-evaluate members (all, or the given ones) in chunks; each chunk: lock, load,
    evaluate, write, emit (confirmed by Kafka), commit.

    ``lock``: an in-process lock shared with the stream consumer, so a chunk never
    interleaves with a batch of the same worker (other processes: ``lock_members``).
    """

    def __init__(self, settings: GapsSettings, db: Database, producer: EventProducer | None, handler: GapsHandler,
                 *, lock: threading.Lock | None = None) -> None:
        self.settings = settings
        self.db = db
        self.producer = producer
        self.handler = handler
        self.lock = lock or threading.Lock()

    def member_ids(self) -> list[str]:
        with self.db.transaction() as session:
            return list(session.scalars(select(members.c.member_id).order_by(members.c.member_id)))

    def run(self, member_ids: Sequence[str] | None = None, *, as_of: date | None = None,
            progress: Callable[[int, int], None] | None = None) -> ReevaluationReport:
        started = time.perf_counter()
        day = as_of or self.handler.today()
        walk = member_ids is None  # the whole roster in the database's order: each chunk is a range
        ids = sorted(set(member_ids)) if member_ids is not None else self.member_ids()
        report = ReevaluationReport(members=len(ids), by_type={})
        cause_id = reevaluation_cause(day)
        occurred_at = datetime.now(timezone.utc)
        done = 0
        for part in chunks(ids, self.settings.reevaluate_chunk):
            with self.lock, self.db.transaction() as session:
                span = (part[0], part[-1]) if walk else None
                lock_members(session, part, span=span)
                outcome = self.handler.evaluate(session, {m: (occurred_at, cause_id) for m in part}, as_of=day,
                                                span=span)
                if outcome.events:
                    if self.producer is None:
                        raise RuntimeError("re-evaluation found status changes but has no producer to emit them")
                    self.producer.send_sync(outcome.events)
            done += len(part)
            report.evaluated += outcome.evaluated
            report.events += len(outcome.events)
            report.changed_rows += outcome.changed_rows
            for ev in outcome.events:
                report.by_type[ev.event_type] = report.by_type.get(ev.event_type, 0) + 1
            if progress:
                progress(done, len(ids))
        report.seconds = time.perf_counter() - started
        return report

