"""What every billing use case works in: the settings of the accrual (open-month policy, the
settle pace, the clock), the long-lived state of a process (parsed contracts, members' coverage,
when estimates were last settled) and, per transaction, the ``Context`` (contracts in force,
closed months, the open month)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared.events import utcnow

from ..domain import ClosedMonths, ContractBook
from ..domain.periods import period_of
from .contract_book import BookCache
from .member_work import CoverageCache
from .ports import UnitOfWork

OPEN_MONTH = "open_month"
CONTRACTS_APPLIED = "contracts_applied"


@dataclass(frozen=True)
class AccrualSettings:
    """``open_month_policy``: ``calendar`` (the open month follows the UTC calendar) or ``fixed``;
    ``open_month``: the first open month (when none is stored); ``estimate_interval_s``: contract
    estimates are settled at most this often (0: every batch)."""

    open_month_policy: str = "calendar"
    open_month: str | None = None
    estimate_interval_s: float = 1.0
    clock: Callable[[], datetime] = field(default=utcnow, compare=False)


@dataclass
class Context:
    book: ContractBook
    book_key: str
    closed: ClosedMonths
    open_month: str


class SettlePacing:
    """When the contract-level estimates are settled: at most every ``interval`` — and, as the
    facts grow, at most a fifth of the time (a settle recomputes a year of estimates, so its cost
    grows with the population)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = -math.inf
        self.cost = 0.0  # seconds the last settle took

    def ready(self) -> bool:
        """``due`` without taking the turn."""
        return self.interval == 0 or time.monotonic() - self.last >= max(self.interval, 4 * self.cost)

    def due(self) -> bool:
        if self.ready():
            self.last = time.monotonic()
            return True
        return False

    def timed(self, fn: Callable[[], list]) -> list:
        started = time.monotonic()
        try:
            return fn()
        finally:
            self.cost = time.monotonic() - started


class Accruals:
    """One process's accrual state, shared by its batches, its maintenance timer and its
    commands: the settings, the parsed contracts, members' coverage between batches, the settle
    pace."""

    def __init__(self, settings: AccrualSettings = AccrualSettings()) -> None:
        self.settings = settings
        self.clock = settings.clock
        self.books = BookCache()
        self.coverage = CoverageCache()
        self.pacing = SettlePacing(settings.estimate_interval_s)

    def context(self, uow: UnitOfWork) -> Context:
        book, key = self.books.get(uow.books)
        open_month = uow.books.get_state(OPEN_MONTH)
        if open_month is None:
            open_month = self.settings.open_month or period_of(self.clock().date())
            uow.books.set_state(OPEN_MONTH, open_month)
        return Context(book, key, uow.books.closed(), open_month)
