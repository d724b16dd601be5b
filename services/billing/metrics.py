"""Billing's Prometheus metrics. Labels: contract id and account (bounded sets); never a member.

The ledger gauges (``billing_accrued_cents``, ``billing_member_months``, ``billing_claims_held``) describe the database,
not a process, so only the worker serves them (``serve_ledger_gauges``): the API, which also
posts (month close), would otherwise serve its own partial copy, starting at zero, that a
dashboard summing both processes would count twice. The worker loads them from the database at
start (``load_gauges``), moves them with every committed posting of its own (``Pending.apply``
runs after the commit, never before) and reloads them when a month was closed by another
process. Counters are per process everywhere (they add up across processes).
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, Counter, Gauge

from .domain import Posting

# registry=None: not served unless ``serve_ledger_gauges`` is called (the worker does)
ACCRUED = Gauge("billing_accrued_cents", "Net ledger amount by contract and account (cents)", ["contract", "account"],
                registry=None)
MEMBER_MONTHS = Gauge("billing_member_months", "Member months on record by contract", ["contract"], registry=None)
HELD = Gauge("billing_claims_held", "Claim corrections (replacements, voids) held because their original has not "
             "arrived: they count for nothing until it does", ["kind"], registry=None)
ENTRIES = Counter("billing_entries_posted_total", "Ledger entries posted", ["contract", "account"])
REVERSALS = Counter("billing_reversals_total", "Reversing entries posted", ["contract"])
ADJUSTMENTS = Counter("billing_adjustments_total", "Entries posted after their month was closed", ["contract"])
UNPRICED = Counter("billing_unpriced_member_months_total",
                   "Eligible member months that accrued nothing although they should have: the contract is not "
                   "loaded, or the month is inside the contract's term with no version in force (months outside "
                   "the term are not counted); counted each time a member is accrued",
                   ["contract"])

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """Metric moves of one transaction, applied once it committed."""

    amounts: Tally = field(default_factory=Tally)
    entries: Tally = field(default_factory=Tally)
    reversals: Tally = field(default_factory=Tally)
    adjustments: Tally = field(default_factory=Tally)
    member_months: Tally = field(default_factory=Tally)
    unpriced: Tally = field(default_factory=Tally)  # contract → member months accrued as nothing

    def postings(self, postings: Iterable[Posting]) -> None:
        for p in postings:
            k = (p.key.contract_id, p.key.account)
            self.amounts[k] += p.amount_cents
            self.entries[k] += 1
            if p.reverses is not None:
                self.reversals[p.key.contract_id] += 1
            if p.adjustment:
                self.adjustments[p.key.contract_id] += 1

    def apply(self) -> None:
        for (c, a), v in self.amounts.items():
            ACCRUED.labels(c, a).inc(v)
        for (c, a), n in self.entries.items():
            ENTRIES.labels(c, a).inc(n)
        for c, n in self.reversals.items():
            REVERSALS.labels(c).inc(n)
        for c, n in self.adjustments.items():
            ADJUSTMENTS.labels(c).inc(n)
        for c, n in self.member_months.items():
            MEMBER_MONTHS.labels(c).inc(n)
        for c, n in sorted(self.unpriced.items()):
            if n > 0:
                UNPRICED.labels(c).inc(n)
                # counts only: never a member
                log.warning("%d member month(s) under contract %s accrued nothing: the contract is not loaded, or "
                            "the months are inside its term with no version in force", n, c)


def set_held(counts: Mapping[str, int]) -> None:
    for kind, n in counts.items():
        HELD.labels(kind).set(n)


def load_gauges(accrued: Mapping[tuple[str, str], int], member_months: Mapping[str, int]) -> None:
    for (c, a), v in accrued.items():
        ACCRUED.labels(c, a).set(v)
    for c, n in member_months.items():
        MEMBER_MONTHS.labels(c).set(n)


_served = False


def serve_ledger_gauges() -> None:
    """Expose the ledger gauges on this process's /metrics (the worker's; idempotent)."""
    global _served
    if not _served:
        REGISTRY.register(ACCRUED)
        REGISTRY.register(MEMBER_MONTHS)
        REGISTRY.register(HELD)
        _served = True
