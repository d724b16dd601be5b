"""Events in → state → domain rules → ledger entries out (``LedgerEntryV1`` on billing.accruals).

``Billing.handle(session, events)`` is the ``BatchConsumer`` handler: one transaction per batch,
the batch's members loaded in a few queries (``MemberWork``), bulk writes, and every new
ledger entry returned as an event. Entry ids derive from the source event and the key, so a
redelivered event posts nothing new (and ``processed_events`` drops it before that).

- ``members.roster``: the member's keys recomputed from all their snapshots and claims
  through the open month; ``claims.events``: the cost / carve-out keys of the claim families
  the event touches; ``gaps.events``, ``care.transitions``, ``outreach.tasks``: stored as facts.
- Any change of facts marks the contract dirty from the earliest changed month; the
  contract-level estimates (bonus, shared savings) of every month from there through the open
  month are recomputed at most every ``estimate_interval_s`` (``settle``) and by the worker's
  timer (``maintain``), which also opens a new month when the calendar turns and re-accrues
  every member when a contract was (re)loaded.
- ``close_month`` settles a month's estimates and closes it; later changes to it post as
  flagged adjustments in the next open month.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event as sa_event, insert, select
from sqlalchemy.orm import Session

from shared.db import insert_ignore
from shared.events import (
    CareTransitionCancelledV1, CareTransitionV1, ClaimV1, Event, GapClosedV1, GapExcludedV1, GapOpenedV1,
    MemberRosterV1, ReadmissionV1, RiskTierChangedV1, TaskLifecycleV1, derive_id, utcnow,
)

from . import risk_tiers
from .aggregates import facts_window, load_facts
from .contract_store import BookCache, book_fingerprint, current_contracts
from .domain import ClosedMonths, ContractBook, Posting, contract_postings, to_ledger_event
from .domain.periods import next_period, period_of, periods_between
from .member_work import CoverageCache, MemberWork
from .metrics import Pending
from .state import (
    all_members, among, get_state, insert_postings, load_closed, load_contract_ledger, mark_dirty, peek_dirty,
    set_state, take_dirty,
)
from .store import BillingDatabase, closed_months, gap_events, task_steps, transition_events

log = logging.getLogger(__name__)

OPEN_MONTH = "open_month"
CONTRACTS_APPLIED = "contracts_applied"
INPUT_TOPICS = ("members.roster", "claims.events", "gaps.events", "care.transitions", "outreach.tasks", "risk.tiers")
INPUT_EVENTS: tuple[type[Event], ...] = (
    MemberRosterV1, ClaimV1, GapOpenedV1, GapClosedV1, GapExcludedV1, CareTransitionV1, CareTransitionCancelledV1,
    ReadmissionV1, TaskLifecycleV1, RiskTierChangedV1,
)


class MonthClosed(Exception):
    pass


class CannotClose(ValueError):
    pass


@dataclass
class Context:
    book: ContractBook
    book_key: str
    closed: ClosedMonths
    open_month: str


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    sa_event.listen(session, "after_commit", lambda _s: fn(), once=True)


class Billing:
    def __init__(self, *, open_month_policy: str = "calendar", open_month: str | None = None,
                 estimate_interval_s: float = 1.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.policy = open_month_policy
        self.initial_open = open_month
        self.interval = estimate_interval_s
        self.clock = clock
        self.books = BookCache()
        self.coverage = CoverageCache()
        self._last_settle = -math.inf
        self._settle_cost = 0.0  # seconds the last settle took

    # ------------------------------------------------------------------ context
    def context(self, session: Session) -> Context:
        book, key = self.books.get(session)
        open_month = get_state(session, OPEN_MONTH)
        if open_month is None:
            open_month = self.initial_open or period_of(self.clock().date())
            set_state(session, OPEN_MONTH, open_month)
        return Context(book, key, load_closed(session), open_month)

    # ------------------------------------------------------------------ the handler
    def handle(self, session: Session, events: Sequence[Event]) -> list[Event]:
        ctx = self.context(session)
        pending = Pending()
        marks: dict[str, str] = {}
        member_events = [e for e in events if isinstance(e, (MemberRosterV1, ClaimV1))]
        tiered = risk_tiers.store(session, [e for e in events if isinstance(e, RiskTierChangedV1)])
        postings: list[Posting] = []
        if member_events or tiered:
            work = MemberWork(session, [e.member_id for e in member_events if isinstance(e, MemberRosterV1)] + tiered,
                              ctx.book, ctx.closed, ctx.open_month,
                              claim_events=[e for e in member_events if isinstance(e, ClaimV1)],
                              coverage_cache=self.coverage)
            risk_causes = {e.member_id: e.event_id for e in events if isinstance(e, RiskTierChangedV1)}
            for mid in tiered:
                if work.snapshots.get(mid):      # a member billing has a roster snapshot of
                    work.recompute(mid, risk_causes[mid])
            for e in member_events:
                if isinstance(e, MemberRosterV1):
                    work.roster(e)
                else:
                    work.claim(e)
            postings.extend(work.postings)
            _merge_marks(marks, work.finish(pending))
        _merge_marks(marks, self._facts(session, events))
        mark_dirty(session, marks)
        if self._settle_due():
            postings.extend(self._timed_settle(session, ctx))
        return self._post(session, postings, pending)

    def _post(self, session: Session, postings: list[Posting], pending: Pending) -> list[Event]:
        now = self.clock()
        insert_postings(session, postings, now)
        pending.postings(postings)
        after_commit(session, pending.apply)
        return [to_ledger_event(p, occurred_at=now, recorded_at=now) for p in postings]

    def _facts(self, session: Session, events: Sequence[Event]) -> dict[str, str]:
        """Store gap, transition and task events; the contract months they change."""
        marks: dict[str, str] = {}
        gaps = [e for e in events if isinstance(e, (GapOpenedV1, GapClosedV1, GapExcludedV1))]
        insert_ignore(session, gap_events, [
            {"event_id": str(e.event_id), "contract_id": e.contract_id, "gap_key": e.gap_key,
             "measure_id": e.measure_id, "status": e.status, "period_start": e.period_start,
             "period_end": e.period_end, "occurred_at": e.occurred_at, "recorded_at": e.recorded_at} for e in gaps])
        by_key: dict[str, str] = {}
        for e in gaps:
            month = period_of(e.occurred_at.date())
            _merge_marks(marks, {e.contract_id: month})
            by_key[e.gap_key] = min(month, by_key.get(e.gap_key, month))
        if by_key:
            # a gap counts in its latest event's contract: every contract the gap was announced
            # under may gain or lose it
            g = gap_events.c
            for key, contract in session.execute(
                    select(g.gap_key, g.contract_id).where(among(session, g.gap_key, sorted(by_key))).distinct()):
                _merge_marks(marks, {contract: by_key[key]})
        moves = [e for e in events if isinstance(e, (CareTransitionV1, CareTransitionCancelledV1, ReadmissionV1))]
        cancelled = [str(e.transition_id) for e in moves if isinstance(e, CareTransitionCancelledV1)]
        known = dict(session.execute(
            select(transition_events.c.transition_id, transition_events.c.contract_id)
            .where(transition_events.c.transition_id.in_(cancelled), transition_events.c.contract_id.is_not(None))
        ).all()) if cancelled else {}
        rows = []
        for e in moves:
            contract = getattr(e, "contract_id", None)
            tid = str(e.transition_id) if hasattr(e, "transition_id") else None
            rows.append({"event_id": str(e.event_id), "contract_id": contract, "transition_id": tid,
                         "kind": e.event_type, "occurred_at": e.occurred_at, "payload": e.model_dump_json()})
            contract = contract or known.get(tid or "")
            if contract:
                _merge_marks(marks, {contract: period_of(e.occurred_at.date())})
        insert_ignore(session, transition_events, rows)
        tasks = [e for e in events if isinstance(e, TaskLifecycleV1)]
        insert_ignore(session, task_steps, [
            {"event_id": str(e.event_id), "task_id": str(e.task_id), "contract_id": e.contract_id,
             "to_status": e.to_status, "occurred_at": e.occurred_at, "appointment_date": e.appointment_date}
            for e in tasks])
        for e in tasks:
            if e.to_status == "scheduled" and e.contract_id:
                _merge_marks(marks, {e.contract_id: period_of(e.occurred_at.date())})
        return marks

    # ------------------------------------------------------------------ contract-level estimates
    def _settle_due(self) -> bool:
        """At most every ``interval`` — and, as the facts grow, at most a fifth of the time:
        a settle recomputes a year of estimates, so its cost grows with the population."""
        if self._settle_ready():
            self._last_settle = time.monotonic()
            return True
        return False

    def _settle_ready(self) -> bool:
        """``_settle_due`` without taking the turn."""
        return self.interval == 0 or time.monotonic() - self._last_settle >= max(self.interval, 4 * self._settle_cost)

    def _timed_settle(self, session: Session, ctx: Context) -> list[Posting]:
        started = time.monotonic()
        try:
            return self.settle(session, ctx)
        finally:
            self._settle_cost = time.monotonic() - started

    def settle(self, session: Session, ctx: Context, source: Callable[[str], uuid.UUID] | None = None,
               ) -> list[Posting]:
        """Recompute the estimates of every dirty contract from its mark through the open month."""
        out: list[Posting] = []
        for cid, since in sorted(take_dirty(session).items()):
            contract = ctx.book.get(cid)
            if contract is None:
                continue
            since = max(since, contract.first_period())
            if since > ctx.open_month:
                continue
            periods = periods_between(since, ctx.open_month)
            first, last = facts_window(contract, since, ctx.open_month)
            facts = load_facts(session, contract, first, last)
            desired: dict = {}
            for p in periods:
                desired.update(contract_postings(contract, p, facts))
            ledger = load_contract_ledger(session, cid, since, ctx.closed)
            scope = [p.key for p in ledger.entries]
            src = source(cid) if source else _estimate_source(cid, since, desired, len(ledger.entries))
            out.extend(ledger.sync(desired, scope, src))
        return out

    # ------------------------------------------------------------------ month close
    def close_month(self, session: Session, contract_id: str, period: str, user: str) -> list[Event]:
        ctx = self.context(session)
        if ctx.book.get(contract_id) is None:
            raise CannotClose("no such contract is loaded")
        if ctx.closed.is_closed(contract_id, period):
            raise MonthClosed(f"{contract_id} {period} is already closed")
        if period > ctx.open_month:
            raise CannotClose("a month can be closed only once it has opened")
        if ctx.book.get(contract_id).version_for(period) is None:
            raise CannotClose("no version of the contract is in force in this period")
        # every change of facts marks its contract dirty and a settle clears the mark: a contract
        # that is not dirty has its estimates current through the open month already
        close_source = derive_id("close", f"{contract_id}|{period}")
        postings = self.settle(session, ctx, source=lambda cid: close_source if cid == contract_id else
                               derive_id("close", f"{contract_id}|{period}|{cid}"))
        session.execute(insert(closed_months).values(contract_id=contract_id, period=period, closed_at=self.clock(),
                                                     closed_by=user))
        return self._post(session, postings, Pending())

    # ------------------------------------------------------------------ maintenance (worker timer)
    def maintain(self, db: BillingDatabase, send: Callable[[list[Event]], None], chunk: int = 1000,
                 force_settle: bool = True) -> int:
        """Open months the calendar reached, re-accrue after a contract load, settle what is dirty.

        Each step is its own transaction (members in chunks); the derived entries are written to
        Kafka before each commit. The worker's timer passes ``force_settle=False`` (the settle then
        keeps to the handler's pace). Returns the number of entries posted.
        """
        if self._idle(db, force_settle):
            return 0
        posted = 0
        with db.transaction() as s:
            ctx = self.context(s)
            applied = get_state(s, CONTRACTS_APPLIED)
        if applied != ctx.book_key:
            source = derive_id("contracts", ctx.book_key)
            posted += self._each_member(db, send, chunk, lambda w, mid: w.recompute(mid, source))
            with db.transaction() as s:
                set_state(s, CONTRACTS_APPLIED, ctx.book_key)
                mark_dirty(s, {c.contract_id: c.first_period() for c in ctx.book})
        target = period_of(self.clock().date()) if self.policy == "calendar" else ctx.open_month
        month = ctx.open_month
        while month < target:
            month = next_period(month)
            source = derive_id("open", month)
            posted += self._each_member(db, send, chunk, lambda w, mid, m=month: w.recompute(mid, source, since=m),
                                        open_month=month)
            with db.transaction() as s:
                set_state(s, OPEN_MONTH, month)
                mark_dirty(s, {c.contract_id: month for c in ctx.book})
            log.info("opened %s", month)
        if force_settle or self._settle_due():
            with db.transaction() as s:
                ctx = self.context(s)
                events = self._post(s, self._timed_settle(s, ctx), Pending())
                if events:
                    send(events)
                posted += len(events)
            self._last_settle = time.monotonic()
        return posted

    def _idle(self, db: BillingDatabase, force_settle: bool) -> bool:
        """True when a maintenance pass would find nothing to do, read without the ledger lock
        (most ticks: the consumer keeps the lock for its batches): the contracts applied, no
        month to open, and no settle due or nothing dirty. A change after this read is found by
        the next tick."""
        with db.reader() as s:
            key = book_fingerprint(current_contracts(s))
            open_month = get_state(s, OPEN_MONTH)
            applied = get_state(s, CONTRACTS_APPLIED)
            dirty = bool(peek_dirty(s))
        if open_month is None or applied != key:
            return False
        if self.policy == "calendar" and period_of(self.clock().date()) > open_month:
            return False
        return not dirty or not (force_settle or self._settle_ready())

    def _each_member(self, db: BillingDatabase, send: Callable[[list[Event]], None], chunk: int,
                     apply: Callable[[MemberWork, str], None], open_month: str | None = None) -> int:
        posted, after = 0, ""
        while True:
            with db.transaction() as s:
                members = all_members(s, after, chunk)
                if not members:
                    return posted
                ctx = self.context(s)
                work = MemberWork(s, members, ctx.book, ctx.closed, open_month or ctx.open_month)
                for mid in members:
                    apply(work, mid)
                pending = Pending()
                mark_dirty(s, work.finish(pending))
                events = self._post(s, work.postings, pending)
                if events:
                    send(events)
                posted += len(events)
            after = members[-1]


def _merge_marks(into: dict[str, str], marks: dict[str, str]) -> None:
    for c, p in marks.items():
        if p < into.get(c, "9999-99"):
            into[c] = p


def _estimate_source(contract_id: str, since: str, desired: dict, posted_count: int) -> uuid.UUID:
    """A deterministic source for an estimate recomputation: the same ledger state and the same
    desired amounts give the same entry ids (a retried transaction re-sends the same events)."""
    digest = hashlib.sha256(repr(sorted((k.text(), v) for k, v in desired.items())).encode()).hexdigest()[:16]
    return derive_id("estimates", f"{contract_id}|{since}|{posted_count}|{digest}")
