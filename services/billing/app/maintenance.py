"""The worker's timer (every ``ESTIMATE_INTERVAL_S``): open the months the calendar reached,
re-accrue every member after a contract load changed the terms, settle the contract estimates
left dirty.

Each step is its own unit of work (members in chunks): the ledger lock is held one chunk at a
time and the derived entries are written to Kafka, confirmed, before each commit. A tick with
nothing to do finds so without taking the ledger lock (a reader), so it never queues behind —
or holds up — a batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shared.events import derive_id

from .. import metrics
from ..domain.periods import next_period, period_of
from .context import CONTRACTS_APPLIED, OPEN_MONTH, Accruals
from .contract_book import book_fingerprint
from .ledger import post, settle
from .member_work import MemberWork
from .ports import UnitOfWorkFactory

log = logging.getLogger("services.billing.maintenance")


class Maintenance:
    def __init__(self, uow: UnitOfWorkFactory, accruals: Accruals, chunk: int = 1000) -> None:
        self.uow = uow
        self.accruals = accruals
        self.chunk = chunk

    def run(self, force_settle: bool = True) -> int:
        """Open months, re-accrue after a contract load, settle what is dirty. The worker's timer
        passes ``force_settle=False`` (the settle then keeps to the batches' pace). Returns the
        number of entries posted."""
        accruals = self.accruals
        if self._idle(force_settle):
            return 0
        posted = 0
        with self.uow() as uow:
            ctx = accruals.context(uow)
            applied = uow.books.get_state(CONTRACTS_APPLIED)
            uow.commit()
        if applied != ctx.book_key:
            source = derive_id("contracts", ctx.book_key)
            posted += self._each_member(lambda w, mid: w.recompute(mid, source))
            with self.uow() as uow:
                uow.books.set_state(CONTRACTS_APPLIED, ctx.book_key)
                uow.books.mark_dirty({c.contract_id: c.first_period() for c in ctx.book})
                uow.commit()
        target = period_of(accruals.clock().date()) if accruals.settings.open_month_policy == "calendar" \
            else ctx.open_month
        month = ctx.open_month
        while month < target:
            month = next_period(month)
            source = derive_id("open", month)
            posted += self._each_member(lambda w, mid, m=month: w.recompute(mid, source, since=m), open_month=month)
            with self.uow() as uow:
                uow.books.set_state(OPEN_MONTH, month)
                uow.books.mark_dirty({c.contract_id: month for c in ctx.book})
                uow.commit()
            log.info("opened %s", month)
        pacing = accruals.pacing
        if force_settle or pacing.due():
            with self.uow() as uow:
                ctx = accruals.context(uow)
                events = post(uow, pacing.timed(lambda: settle(uow, ctx)), metrics.Pending(), accruals.clock())
                uow.publish(events)
                uow.commit()
                posted += len(events)
            pacing.last = time.monotonic()
        return posted

    def _idle(self, force_settle: bool) -> bool:
        """True when a pass would find nothing to do, read without the ledger lock (most ticks:
        the consumer keeps the lock for its batches): the contracts applied, no month to open, and
        no settle due or nothing dirty. A change after this read is found by the next tick."""
        with self.uow(writer=False) as uow:
            key = book_fingerprint(uow.books.current_contracts())
            open_month = uow.books.get_state(OPEN_MONTH)
            applied = uow.books.get_state(CONTRACTS_APPLIED)
            dirty = bool(uow.books.peek_dirty())
        if open_month is None or applied != key:
            return False
        if self.accruals.settings.open_month_policy == "calendar" and period_of(self.accruals.clock().date()) > open_month:
            return False
        return not dirty or not (force_settle or self.accruals.pacing.ready())

    def _each_member(self, apply: Callable[[MemberWork, str], None], open_month: str | None = None) -> int:
        posted, after = 0, ""
        while True:
            with self.uow() as uow:
                members = uow.members.members_after(after, self.chunk)
                if not members:
                    return posted
                ctx = self.accruals.context(uow)
                work = MemberWork(uow, members, ctx.book, ctx.closed, open_month or ctx.open_month)
                for mid in members:
                    apply(work, mid)
                pending = metrics.Pending()
                uow.books.mark_dirty(work.finish(pending))
                events = post(uow, work.postings, pending, self.accruals.clock())
                uow.publish(events)
                uow.commit()
                posted += len(events)
            after = members[-1]

