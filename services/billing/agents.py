"""The billing worker: faust wiring only.

Consumes ``members.roster``, ``claims.events``, ``gaps.events``, ``care.transitions`` and
``outreach.tasks`` in batches through ``BatchConsumer`` (one transaction per batch with the
processed-events dedupe; ledger entries to ``billing.accruals`` confirmed before the commit).
A timer runs ``Billing.maintain``: opens a month when the calendar turns, re-accrues after a
contract load, and settles the contract-level estimates left dirty.
"""

from __future__ import annotations

import asyncio
import logging

import faust
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.consumer import BatchConsumer
from shared.errors import TransientError
from shared.faust_app import consume, create_app
from shared.kafka import EventProducer

from . import metrics
from .aggregates import account_balances, member_month_counts
from .commands import ensure_default_contracts
from .handlers import INPUT_EVENTS, INPUT_TOPICS, Billing
from .settings import BillingSettings
from .state import held_counts, load_closed
from .store import BillingDatabase

log = logging.getLogger(__name__)
CONSUMER_NAME = "billing.ledger"


def open_database(settings: BillingSettings) -> BillingDatabase:
    """The database with its schema in place and the example contracts loaded if none is."""
    db = BillingDatabase(settings.resolved_database_url())
    db.create_schema()
    loaded = ensure_default_contracts(db, settings.contracts_dir)
    if loaded:
        log.info("loaded the default contracts: %s", ", ".join(loaded))
    return db


def make_billing(settings: BillingSettings) -> Billing:
    return Billing(open_month_policy=settings.open_month_policy, open_month=settings.open_month,
                   estimate_interval_s=settings.estimate_interval_s)


class LedgerGauges:
    """The worker's ledger gauges, loaded from the database at start and again whenever the set
    of closed months changed: a month closed by the API or the CLI posts entries this process
    did not see. Read under the ledger lock, so no posting is between its commit and its
    ``Pending.apply``."""

    def __init__(self, db: BillingDatabase) -> None:
        self.db = db
        self.closed: object = None

    def refresh_held(self) -> None:
        """``billing_claims_held`` from the database (a small table; read without the ledger lock)."""
        with self.db.reader() as s:
            metrics.set_held(held_counts(s))

    def refresh(self, force: bool = False) -> bool:
        """Reload when forced or a month was closed since the last load; True when reloaded.
        The closed months are compared first without the ledger lock (every tick; a close is rare)."""
        if not force:
            with self.db.reader() as s:
                if load_closed(s) == self.closed:
                    return False
        with self.db.transaction() as s:
            closed = load_closed(s)
            if not force and closed == self.closed:
                return False
            accrued: dict = {}
            for (c, _, a), v in account_balances(s).items():
                accrued[(c, a)] = accrued.get((c, a), 0) + v
            metrics.load_gauges(accrued, member_month_counts(s))
            self.closed = closed
        return True


def build_worker(settings: BillingSettings) -> faust.App:
    db = open_database(settings)
    metrics.serve_ledger_gauges()
    gauges = LedgerGauges(db)
    gauges.refresh(force=True)
    gauges.refresh_held()
    producer = EventProducer(settings, client_id="billing-worker")
    billing = make_billing(settings)
    app = create_app("billing", settings, web_port=settings.worker_port, web_host=settings.http_host,
                     health=lambda: {"database": db.ping()})
    consume(app, settings, INPUT_TOPICS, BatchConsumer(CONSUMER_NAME, db, producer, billing.handle, expect=INPUT_EVENTS),
            batch_size=settings.batch_size, within=settings.batch_within_s)

    @app.timer(interval=max(settings.estimate_interval_s, 0.5))
    async def maintenance() -> None:
        try:
            await asyncio.to_thread(billing.maintain, db, producer.send_sync, 1000, False)
            await asyncio.to_thread(gauges.refresh)
            await asyncio.to_thread(gauges.refresh_held)
        except (OperationalError, DBAPIError, TransientError) as exc:
            # the database or the broker is away: nothing was committed; the next tick retries
            log.warning("billing maintenance failed (%s); retrying on the next tick", exc.__class__.__name__)

    return app
