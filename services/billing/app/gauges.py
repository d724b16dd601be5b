"""The worker's ledger gauges (``billing_accrued_cents``, ``billing_member_months``,
``billing_claims_held``): loaded from the database at start and again whenever the set of closed
months changed — a month closed by the API or the CLI posts entries this process did not see.
Between reloads they move with the worker's own postings, after each commit (``Pending``)."""

from __future__ import annotations

from .. import metrics
from .ports import UnitOfWorkFactory


class LedgerGauges:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self.closed: object = None

    def refresh_held(self) -> None:
        """``billing_claims_held`` from the database (a small table; read without the ledger lock)."""
        with self.uow(writer=False) as r:
            metrics.set_held(r.members.held_counts())

    def refresh(self, force: bool = False) -> bool:
        """Reload when forced or a month was closed since the last load; True when reloaded.
        The closed months are compared first without the ledger lock (every tick; a close is
        rare); the reload reads under it, so no posting is between its commit and its
        ``Pending.apply``."""
        if not force:
            with self.uow(writer=False) as r:
                if r.books.closed() == self.closed:
                    return False
        with self.uow() as w:
            closed = w.books.closed()
            if not force and closed == self.closed:
                return False
            accrued: dict = {}
            for (c, _, a), v in w.ledger.account_balances().items():
                accrued[(c, a)] = accrued.get((c, a), 0) + v
            metrics.load_gauges(accrued, w.rows.month_counts())
            self.closed = closed
        return True
