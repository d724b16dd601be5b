"""Postings and reversals: what every writer of the ledger does with the entries the rules
decided, and the contract-level estimates.

- ``post``: append the entries (``LedgerEntries.append``), count them once the transaction
  committed (``Pending``, after commit), and return them as ``ledger.entry`` events for
  ``billing.accruals`` (``event_id`` = ``entry_id``), which the caller writes to Kafka, confirmed,
  before the commit.
- ``settle``: the bonus and shared-savings estimates of every dirty contract, from its dirty mark
  through the open month, diffed against the contract's posted entries (reversal + new entry
  where an amount moved).
- ``close_month``: settle, then close the month; later changes to it post as adjustments.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime

from shared.events import Event, derive_id

from .. import metrics
from ..domain import Posting, contract_postings, to_ledger_event
from ..domain.periods import periods_between
from .context import Context
from .facts import contract_facts, facts_window
from .ports import UnitOfWork


class MonthClosed(Exception):
    pass


class CannotClose(ValueError):
    pass


def post(uow: UnitOfWork, postings: list[Posting], pending: metrics.Pending, now: datetime) -> list[Event]:
    """Append ``postings``; their metrics after the commit; the events to publish."""
    uow.ledger.append(postings, now)
    pending.postings(postings)
    uow.after_commit(pending.apply)
    return [to_ledger_event(p, occurred_at=now, recorded_at=now) for p in postings]


def settle(uow: UnitOfWork, ctx: Context, source: Callable[[str], uuid.UUID] | None = None) -> list[Posting]:
    """Recompute the estimates of every dirty contract from its mark through the open month."""
    out: list[Posting] = []
    for cid, since in sorted(uow.books.take_dirty().items()):
        contract = ctx.book.get(cid)
        if contract is None:
            continue
        since = max(since, contract.first_period())
        if since > ctx.open_month:
            continue
        periods = periods_between(since, ctx.open_month)
        first, last = facts_window(contract, since, ctx.open_month)
        facts = contract_facts(uow, contract, first, last)
        desired: dict = {}
        for p in periods:
            desired.update(contract_postings(contract, p, facts))
        ledger = uow.ledger.of_contract(cid, since, ctx.closed)
        scope = [p.key for p in ledger.entries]
        src = source(cid) if source else estimate_source(cid, since, desired, len(ledger.entries))
        out.extend(ledger.sync(desired, scope, src))
    return out


def close_month(uow: UnitOfWork, ctx: Context, contract_id: str, period: str, user: str,
                now: datetime) -> list[Event]:
    """Settle the month's estimates and close it (``CannotClose``, ``MonthClosed``)."""
    contract = ctx.book.get(contract_id)
    if contract is None:
        raise CannotClose("no such contract is loaded")
    if ctx.closed.is_closed(contract_id, period):
        raise MonthClosed(f"{contract_id} {period} is already closed")
    if period > ctx.open_month:
        raise CannotClose("a month can be closed only once it has opened")
    if contract.version_for(period) is None:
        raise CannotClose("no version of the contract is in force in this period")
    # every change of facts marks its contract dirty and a settle clears the mark: a contract
    # that is not dirty has its estimates current through the open month already
    close_source = derive_id("close", f"{contract_id}|{period}")
    postings = settle(uow, ctx, source=lambda cid: close_source if cid == contract_id else
                      derive_id("close", f"{contract_id}|{period}|{cid}"))
    uow.books.close(contract_id, period, now, user)
    return post(uow, postings, metrics.Pending(), now)


def estimate_source(contract_id: str, since: str, desired: dict, posted_count: int) -> uuid.UUID:
    """A deterministic source for an estimate recomputation: the same ledger state and the same
    desired amounts give the same entry ids (a retried transaction re-sends the same events)."""
    digest = hashlib.sha256(repr(sorted((k.text(), v) for k, v in desired.items())).encode()).hexdigest()[:16]
    return derive_id("estimates", f"{contract_id}|{since}|{posted_count}|{digest}")
